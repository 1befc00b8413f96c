#include "visitor.hpp"

#include <clang/AST/APValue.h>
#include <clang/AST/ASTConsumer.h>
#include <clang/AST/ASTContext.h>
#include <clang/AST/DeclCXX.h>
#include <clang/AST/DeclTemplate.h>
#include <clang/AST/Expr.h>
#include <clang/AST/ExprCXX.h>
#include <clang/AST/QualTypeNames.h>
#include <clang/AST/RecursiveASTVisitor.h>
#include <clang/Basic/SourceManager.h>
#include <clang/Frontend/CompilerInstance.h>
#include <clang/Lex/Lexer.h>

#include <optional>

namespace loom::codegen {

namespace {

using namespace clang;  // NOLINT: this file is all Clang AST work

std::string location_of(const SourceManager& sm, SourceLocation loc) {
  const PresumedLoc p = sm.getPresumedLoc(sm.getExpansionLoc(loc));
  if (p.isInvalid()) return "<unknown>";
  return std::string(p.getFilename()) + ":" + std::to_string(p.getLine()) + ":" + std::to_string(p.getColumn());
}

/// The class template specialization behind a (canonical) type, if any.
const ClassTemplateSpecializationDecl* specialization_of(QualType t) {
  if (const auto* rt = t->getAs<RecordType>()) return dyn_cast<ClassTemplateSpecializationDecl>(rt->getDecl());
  return nullptr;
}

bool is_loom_entity(QualType t) {
  const auto* spec = specialization_of(t.getCanonicalType());
  return spec != nullptr && spec->getSpecializedTemplate()->getQualifiedNameAsString() == "loom::entity";
}

/// The text of a std::string_view held in a constant (a pointer into a string literal
/// and a length); nullopt when it is not one.
std::optional<std::string> string_view_value(const APValue& v) {
  if (!v.isStruct()) return std::nullopt;
  std::optional<std::uint64_t> length;
  const APValue* pointer = nullptr;
  for (unsigned i = 0; i < v.getStructNumFields(); ++i) {
    const APValue& f = v.getStructField(i);
    if (f.isInt()) length = f.getInt().getZExtValue();
    if (f.isLValue()) pointer = &f;
  }
  if (!length || pointer == nullptr) return std::nullopt;
  if (*length == 0) return std::string();
  const auto base = pointer->getLValueBase();
  const auto* literal = dyn_cast_or_null<StringLiteral>(base.dyn_cast<const Expr*>());
  if (literal == nullptr || literal->getCharByteWidth() != 1) return std::nullopt;
  const auto offset = static_cast<std::size_t>(pointer->getLValueOffset().getQuantity());
  const StringRef bytes = literal->getBytes();
  if (offset + *length > bytes.size()) return std::nullopt;
  return bytes.substr(offset, *length).str();
}

/// The field of a class's constant value, by the field's name.
const APValue* field_value(const APValue& object, const RecordDecl* record, StringRef name) {
  if (!object.isStruct()) return nullptr;
  unsigned index = 0;
  for (const FieldDecl* f : record->fields()) {
    if (f->getName() == name) return index < object.getStructNumFields() ? &object.getStructField(index) : nullptr;
    ++index;
  }
  return nullptr;
}

/// Finds the function an entity was made from, `loom::dynamic<"x">(&fn)`: the first
/// function referred to in the initializer whose type is the entity's function type
/// (so not loom::dynamic itself).
class function_finder : public RecursiveASTVisitor<function_finder> {
 public:
  explicit function_finder(QualType function_type) : function_type_(function_type.getCanonicalType()) {}
  const FunctionDecl* found = nullptr;
  bool VisitDeclRefExpr(DeclRefExpr* e) {
    if (found == nullptr) {
      const auto* fn = dyn_cast<FunctionDecl>(e->getDecl());
      if (fn != nullptr && fn->getType().getCanonicalType() == function_type_) found = fn;
    }
    return true;
  }

 private:
  QualType function_type_;
};

class model_builder {
 public:
  model_builder(ASTContext& ctx, visit_result& out)
      : ctx_(ctx), sm_(ctx.getSourceManager()), out_(out), policy_(ctx.getPrintingPolicy()) {
    policy_.SuppressUnwrittenScope = true;  // anonymous namespaces: reachable as ::name in the same TU
    policy_.SuppressTagKeyword = true;
    policy_.FullyQualifiedName = true;
  }

  void add_entity(const VarDecl* var) {
    const auto* spec = specialization_of(var->getType().getCanonicalType());
    const TemplateArgumentList& args = spec->getTemplateArgs();
    entity_model e;
    e.location = location_of(sm_, var->getLocation());
    e.variable = "::" + var->getQualifiedNameAsString();
    if (var->isInAnonymousNamespace()) {
      // Anonymous namespaces are transparent to qualified lookup from the same TU.
      std::string q;
      llvm::raw_string_ostream os(q);
      var->printQualifiedName(os, policy_);
      e.variable = "::" + os.str();
    }

    // Kind: loom::task_kind / workflow_kind / dynamic_kind.
    const std::string kind = args[0].getAsType()->getAsRecordDecl()->getName().str();
    e.kind = kind.substr(0, kind.find("_kind"));

    // Name: the fixed_string template argument.
    if (args[1].getKind() == TemplateArgument::Declaration) {
      if (const auto* object = dyn_cast<TemplateParamObjectDecl>(args[1].getAsDecl())) {
        e.name = fixed_string_value(object->getValue());
      }
    }
    if (e.name.empty()) return error(var->getLocation(), "cannot read the name of entity '" + e.variable + "'");

    // Version and explicit input names: from the object's constant value.
    std::vector<std::string> explicit_names;
    e.version = "1";
    if (const APValue* value = var->evaluateValue()) {
      if (const APValue* v = field_value(*value, spec, "version_")) {
        if (auto s = string_view_value(*v)) e.version = *s;
      }
      if (const APValue* names = field_value(*value, spec, "input_names_"); names != nullptr && names->isArray()) {
        for (unsigned i = 0; i < names->getArrayInitializedElts(); ++i) {
          explicit_names.push_back(string_view_value(names->getArrayInitializedElt(i)).value_or(""));
        }
      }
    }

    // Interface types: the entity's own `inputs` and `outputs` type lists.
    const std::vector<QualType> inputs = type_list_member(spec, "inputs");
    const std::vector<QualType> outputs = type_list_member(spec, "outputs");

    // Parameter names and default arguments: the last `arity` parameters of the
    // callable (workflow and dynamic bodies take the builder first).
    std::vector<const ParmVarDecl*> params = callable_parameters(var, args[2].getAsType());
    const std::size_t skip = params.size() >= inputs.size() ? params.size() - inputs.size() : 0;
    params.erase(params.begin(), params.begin() + static_cast<std::ptrdiff_t>(skip));

    const std::string where_entity = e.kind + " '" + e.name + "'";
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      input_port port;
      const ParmVarDecl* param = i < params.size() ? params[i] : nullptr;
      if (i < explicit_names.size() && !explicit_names[i].empty()) {
        port.name = explicit_names[i];
      } else if (param != nullptr && !param->getName().empty()) {
        port.name = param->getName().str();
      } else {
        port.name = "i" + std::to_string(i);
      }
      const SourceLocation loc = param != nullptr ? param->getLocation() : var->getLocation();
      auto type = classify(inputs[i], loc, "input '" + port.name + "' of " + where_entity);
      if (!type) continue;
      port.type = std::move(*type);
      if (param != nullptr && e.kind != "workflow") read_default(*param, port);
      e.inputs.push_back(std::move(port));
    }
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      auto type = classify(outputs[i], var->getLocation(), "output o" + std::to_string(i) + " of " + where_entity);
      if (type) e.outputs.push_back(std::move(*type));
    }
    out_.model.entities.push_back(std::move(e));
  }

 private:
  static std::string fixed_string_value(const APValue& v) {
    // fixed_string<N>{char value[N]}: the characters before the terminating zero.
    if (!v.isStruct() || v.getStructNumFields() < 1 || !v.getStructField(0).isArray()) return {};
    const APValue& chars = v.getStructField(0);
    std::string out;
    for (unsigned i = 0; i < chars.getArrayInitializedElts(); ++i) {
      const APValue& c = chars.getArrayInitializedElt(i);
      if (!c.isInt() || c.getInt().getZExtValue() == 0) break;
      out += static_cast<char>(c.getInt().getZExtValue());
    }
    return out;
  }

  std::vector<QualType> type_list_member(const CXXRecordDecl* spec, StringRef member) {
    std::vector<QualType> types;
    for (const NamedDecl* d : spec->lookup(&ctx_.Idents.get(member))) {
      const auto* alias = dyn_cast<TypedefNameDecl>(d);
      if (alias == nullptr) continue;
      const auto* list = specialization_of(alias->getUnderlyingType().getCanonicalType());
      if (list == nullptr) continue;
      for (const TemplateArgument& a : list->getTemplateArgs().asArray()) {
        if (a.getKind() == TemplateArgument::Pack) {
          for (const TemplateArgument& p : a.pack_elements()) types.push_back(p.getAsType());
        } else if (a.getKind() == TemplateArgument::Type) {
          types.push_back(a.getAsType());
        }
      }
    }
    return types;
  }

  std::vector<const ParmVarDecl*> callable_parameters(const VarDecl* var, QualType fn_type) {
    const FunctionDecl* fn = nullptr;
    const QualType canonical = fn_type.getCanonicalType();
    if (const auto* record = canonical->getAsCXXRecordDecl()) {
      if (record->isLambda()) {
        fn = record->getLambdaCallOperator();
      } else {
        for (const CXXMethodDecl* m : record->methods()) {
          if (m->getOverloadedOperator() == OO_Call) fn = m;
        }
      }
    } else if (var->getInit() != nullptr && canonical->isFunctionPointerType()) {
      function_finder finder(canonical->getPointeeType());
      finder.TraverseStmt(const_cast<Expr*>(var->getInit()));
      fn = finder.found;
    }
    std::vector<const ParmVarDecl*> params;
    if (fn != nullptr) {
      if (const FunctionDecl* def = fn->getDefinition()) fn = def;
      for (const ParmVarDecl* p : fn->parameters()) params.push_back(p);
    }
    return params;
  }

  void read_default(const ParmVarDecl& param, input_port& port) {
    if (!param.hasDefaultArg() || param.hasUninstantiatedDefaultArg() || param.hasUnparsedDefaultArg()) return;
    const Expr* expr = param.getDefaultArg();
    if (expr == nullptr) return;
    const Expr* plain = expr->IgnoreImplicit();
    // The C++ text of the default, as written.
    const CharSourceRange range = CharSourceRange::getTokenRange(expr->getSourceRange());
    const std::string text = Lexer::getSourceText(range, sm_, ctx_.getLangOpts()).str();
    if (!text.empty()) port.default_cpp = text;
    // A constant default also goes into the manifest as a literal.
    if (port.type.what == type_ref::kind::string) {
      const StringLiteral* literal = nullptr;
      const Stmt* s = plain;
      while (s != nullptr && literal == nullptr) {
        literal = dyn_cast<StringLiteral>(s);
        s = s->child_begin() != s->child_end() ? *s->child_begin() : nullptr;
        if (s != nullptr) s = cast<Expr>(s)->IgnoreImplicit();
      }
      if (literal != nullptr && literal->getCharByteWidth() == 1) port.default_literal = literal->getBytes().str();
      return;
    }
    Expr::EvalResult result;
    if (!expr->EvaluateAsRValue(result, ctx_) || result.HasSideEffects) return;
    const APValue& v = result.Val;
    switch (port.type.what) {
      case type_ref::kind::boolean:
        if (v.isInt()) port.default_literal = v.getInt().getBoolValue();
        break;
      case type_ref::kind::integer:
        if (v.isInt()) {
          port.default_literal = v.getInt().isSigned() ? json(v.getInt().getSExtValue()) : json(v.getInt().getZExtValue());
        }
        break;
      case type_ref::kind::floating:
        if (v.isFloat()) port.default_literal = v.getFloat().convertToDouble();
        if (v.isInt()) port.default_literal = static_cast<double>(v.getInt().getSExtValue());
        break;
      default: break;
    }
  }

  /// The model of a task value type; reports why it is not one (and returns nullopt).
  std::optional<type_ref> classify(QualType type, SourceLocation loc, const std::string& what) {
    const QualType t = type.getCanonicalType();
    const std::string spelled = type.getAsString(policy_);
    auto reject = [&](const std::string& reason) -> std::optional<type_ref> {
      error(loc, what + " has type '" + spelled + "', which loom cannot serialize: " + reason);
      return std::nullopt;
    };
    if (t.isConstQualified() || t.isVolatileQualified()) {
      return reject("const or volatile inside a value; values are owned by the executor");
    }
    if (t->isReferenceType()) return reject("a reference; values are copied between nodes");
    if (t->isPointerType() || t->isMemberPointerType() || t->isNullPtrType()) {
      return reject("a pointer means nothing in another process or on another host");
    }
    type_ref r;
    r.cpp = TypeName::getFullyQualifiedName(t, ctx_, policy_, /*WithGlobalNsPrefix=*/true);
    if (const auto* builtin = t->getAs<BuiltinType>()) {
      if (builtin->getKind() == BuiltinType::Bool) {
        r.what = type_ref::kind::boolean;
      } else if (builtin->isCharType() || builtin->isWideCharType() || builtin->isChar8Type() ||
                 builtin->isChar16Type() || builtin->isChar32Type()) {
        return reject("a character type; use std::string for text and std::int64_t for small numbers");
      } else if (builtin->isInteger()) {
        r.what = type_ref::kind::integer;
      } else if (builtin->isFloatingPoint()) {
        r.what = type_ref::kind::floating;
      } else {
        return reject("not a value type");
      }
      return r;
    }
    // Records and enums are named from the global namespace (the generated code is in
    // namespace loom::detail); an anonymous namespace is transparent to that lookup.
    auto globally = [](std::string name) { return name.rfind("::", 0) == 0 ? name : "::" + name; };
    if (const auto* et = t->getAs<EnumType>()) {
      r.cpp = globally(r.cpp);
      return classify_enum(et->getDecl(), r, loc, reject);
    }
    const CXXRecordDecl* record = t->getAsCXXRecordDecl();
    if (record == nullptr) return reject("arrays, functions and unions have no literal encoding");
    if (const auto* spec = dyn_cast<ClassTemplateSpecializationDecl>(record); spec != nullptr && spec->isInStdNamespace()) {
      const std::string name = spec->getSpecializedTemplate()->getName().str();
      const auto& targs = spec->getTemplateArgs();
      auto arg = [&](unsigned i) { return targs[i].getAsType(); };
      if (name == "basic_string") {
        if (!arg(0)->isSpecificBuiltinType(BuiltinType::Char_S) && !arg(0)->isSpecificBuiltinType(BuiltinType::Char_U)) {
          return reject("only std::string is a text type");
        }
        r.what = type_ref::kind::string;
        return r;
      }
      if (name == "vector" || name == "optional") {
        r.what = name == "vector" ? type_ref::kind::list : type_ref::kind::optional;
        auto item = classify(arg(0), loc, what + " (its items)");
        if (!item) return std::nullopt;
        r.args.push_back(std::move(*item));
        return r;
      }
      if (name == "map") {
        auto key = arg(0).getCanonicalType();
        const auto* key_spec = specialization_of(key);
        if (key_spec == nullptr || !key_spec->isInStdNamespace() ||
            key_spec->getSpecializedTemplate()->getName() != "basic_string") {
          return reject("map keys are strings in the literal encoding (use std::map<std::string, T>)");
        }
        r.what = type_ref::kind::map;
        auto value = classify(arg(1), loc, what + " (its values)");
        if (!value) return std::nullopt;
        r.args.push_back(std::move(*value));
        return r;
      }
      if (name == "tuple") {
        r.what = type_ref::kind::tuple;
        for (const TemplateArgument& a : targs[0].pack_elements()) {
          auto member = classify(a.getAsType(), loc, what + " (a tuple member)");
          if (!member) return std::nullopt;
          r.args.push_back(std::move(*member));
        }
        return r;
      }
      return reject("std::" + name + " is not a task value type (use bool, integers, double, std::string, "
                    "std::vector, std::map<std::string, T>, std::optional, std::tuple, or a plain struct)");
    }
    r.cpp = globally(r.cpp);
    return classify_record(record, r, loc, reject);
  }

  template <class Reject>
  std::optional<type_ref> classify_enum(const EnumDecl* decl, type_ref r, SourceLocation, Reject& reject) {
    if (decl->getName().empty()) return reject("an enum needs a name");
    if (decl->getParentFunctionOrMethod() != nullptr) return reject("a type declared inside a function cannot be named by the generated code");
    r.what = type_ref::kind::enumeration;
    r.key = r.cpp;
    if (!out_.model.enums.count(r.key)) {
      enum_type e;
      e.cpp = r.cpp;
      e.name = decl->getName().str();
      e.location = location_of(sm_, decl->getLocation());
      for (const EnumConstantDecl* c : decl->enumerators()) e.enumerators.push_back(c->getName().str());
      if (e.enumerators.empty()) return reject("an enum without enumerators has no value to write");
      out_.model.enums.emplace(r.key, std::move(e));
    }
    return r;
  }

  template <class Reject>
  std::optional<type_ref> classify_record(const CXXRecordDecl* record, type_ref r, SourceLocation, Reject& reject) {
    record = record->getDefinition();
    if (record == nullptr) return reject("an incomplete type");
    if (record->isUnion()) return reject("a union has no literal encoding");
    if (record->isLambda()) return reject("a lambda is not a value");
    r.what = type_ref::kind::record;
    r.key = r.cpp;
    if (out_.model.records.count(r.key)) return r;
    if (in_progress_.count(r.key)) return reject("a recursive type (a descriptor would be infinite)");
    const bool hana = !record->lookup(&ctx_.Idents.get("hana_accessors_impl")).empty();
    if (!hana) {
      if (record->getName().empty()) return reject("an unnamed struct cannot be named by the generated code");
      if (record->getParentFunctionOrMethod() != nullptr) {
        return reject("a type declared inside a function cannot be named by the generated code; declare it at "
                      "namespace scope");
      }
      if (record->getNumBases() != 0) return reject("a struct with base classes (use a member instead)");
      if (!record->isAggregate()) {
        return reject("not a plain aggregate struct (it has constructors, private members or virtual functions); "
                      "describe it with BOOST_HANA_DEFINE_STRUCT, or make it a plain struct");
      }
    }
    in_progress_.insert(r.key);
    record_type rec;
    rec.cpp = r.cpp;
    rec.name = record->getName().str();
    if (const auto* spec = dyn_cast<ClassTemplateSpecializationDecl>(record)) {
      // A record name drops namespaces but keeps template arguments (as the header does).
      std::string full = r.cpp;
      const auto open = full.find('<');
      const auto head = full.substr(0, open);
      const auto last = head.rfind("::");
      rec.name = full.substr(last == std::string::npos ? 0 : last + 2);
      (void)spec;
    }
    rec.hana = hana;
    rec.location = location_of(sm_, record->getLocation());
    bool ok = true;
    for (const FieldDecl* f : record->fields()) {
      if (f->isBitField()) {
        error(f->getLocation(), "field '" + f->getName().str() + "' of '" + rec.name +
                                    "' is a bit-field, which loom cannot serialize (use a whole integer)");
        ok = false;
        continue;
      }
      if (f->getName().empty()) {
        error(f->getLocation(), "an unnamed member of '" + rec.name + "' cannot be serialized (give it a name)");
        ok = false;
        continue;
      }
      auto ft = classify(f->getType(), f->getLocation(), "field '" + f->getName().str() + "' of '" + rec.name + "'");
      if (!ft) {
        ok = false;
        continue;
      }
      // A field may be absent from a literal when it has a default: an initializer, or a
      // class type (a string, a container, a struct: default-constructed). A scalar or
      // an enum without an initializer has no meaningful default, so it is required.
      const bool has_default = f->hasInClassInitializer() || f->getType()->isRecordType();
      rec.fields.push_back({f->getName().str(), std::move(*ft), has_default});
    }
    in_progress_.erase(r.key);
    if (!ok) return std::nullopt;
    out_.model.records.emplace(r.key, std::move(rec));
    return r;
  }

  void error(SourceLocation loc, std::string message) {
    out_.errors.push_back({location_of(sm_, loc), std::move(message)});
  }

  ASTContext& ctx_;
  const SourceManager& sm_;
  visit_result& out_;
  PrintingPolicy policy_;
  std::set<std::string> in_progress_;
};

class entity_finder : public RecursiveASTVisitor<entity_finder> {
 public:
  explicit entity_finder(model_builder& builder) : builder_(builder) {}

  bool VisitVarDecl(VarDecl* var) {
    if (!var->hasGlobalStorage() || var->isStaticLocal() || !var->isThisDeclarationADefinition()) return true;
    if (var->getDeclContext()->isDependentContext() || var->isInvalidDecl()) return true;
    if (!is_loom_entity(var->getType())) return true;
    builder_.add_entity(var);
    return true;
  }

 private:
  model_builder& builder_;
};

class visit_consumer : public ASTConsumer {
 public:
  explicit visit_consumer(visit_result& out) : out_(out) {}

  void HandleTranslationUnit(ASTContext& ctx) override {
    const SourceManager& sm = ctx.getSourceManager();
    if (const auto* main = sm.getFileEntryForID(sm.getMainFileID())) out_.model.source = main->getName().str();
    model_builder builder(ctx, out_);
    entity_finder finder(builder);
    finder.TraverseDecl(ctx.getTranslationUnitDecl());
    for (auto it = sm.fileinfo_begin(); it != sm.fileinfo_end(); ++it) {
      out_.files_read.insert(it->first->getName().str());
    }
  }

 private:
  visit_result& out_;
};

class visit_action : public ASTFrontendAction {
 public:
  explicit visit_action(visit_result& out) : out_(out) {}
  std::unique_ptr<ASTConsumer> CreateASTConsumer(CompilerInstance&, StringRef) override {
    return std::make_unique<visit_consumer>(out_);
  }

 private:
  visit_result& out_;
};

}  // namespace

std::unique_ptr<clang::FrontendAction> make_visit_action(visit_result& out) {
  return std::make_unique<visit_action>(out);
}

}  // namespace loom::codegen
