// tools/ui_server.cpp — `loom ui` (ui_server.hpp; the contract: docs/ui.md).
//
// One httplib::Server on a pool of threads: pages (the one HTML file of the page, for
// every deep link), the two assets, the JSON API (ui_api), and event streams. A watcher
// thread looks at the store's change counter and the database's files every watch_ms
// and bumps a version when they changed; each event stream waits for that version to move (or for its heartbeat) on
// one condition variable. SIGINT and SIGTERM, blocked in every thread, are taken by a
// thread of their own, which stops the streams and then the server.
#include "ui_server.hpp"

#include "ui_api.hpp"
#include "ui_assets.hpp"

#include <loom/state_store.hpp>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <mutex>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

namespace loom_tool {

namespace {

constexpr const char* content_security_policy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The store as a watcher sees it: the change counter its runs bump after each commit
/// (loom/detail/change_counter.hpp), and the database's files. A change of any means the
/// store changed. The files are for stores without a counter (one that could not be made,
/// a run of an older Loom): each commit appends to the WAL, a checkpoint rewrites the
/// database; but a WAL begun again after a checkpoint may keep its size, and a file
/// system's times may be coarser than the commits, so the counter is what is sure.
struct store_fingerprint {
  struct file_state {
    bool exists = false;
    off_t size = 0;
    std::int64_t mtime_ns = 0;
    ino_t inode = 0;
    bool operator==(const file_state&) const = default;
  };
  std::optional<std::uint64_t> changes;
  file_state db;
  file_state wal;
  bool operator==(const store_fingerprint&) const = default;

  static file_state of(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return {};
    return {true, st.st_size, static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
            st.st_ino};
  }
  /// (`counter`: the store's, mapped once it exists.)
  static store_fingerprint of_store(const std::filesystem::path& root, loom::detail::change_counter& counter) {
    const auto database = loom::state_store::default_path(root);
    if (!counter.on()) counter = loom::detail::change_counter::for_reading(database);
    const std::string db = database.string();
    return {counter.value(), of(db), of(db + "-wal")};
  }
};

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

const ui_asset_file* asset(std::string_view name) {
  for (const auto& a : ui_assets()) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

/// A short tag of an asset's bytes (FNV-1a), for ETag.
std::string etag_of(std::string_view bytes) {
  std::uint64_t h = 1469598103934665603ULL;
  for (const unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char text[24];
  std::snprintf(text, sizeof text, "\"%016llx\"", static_cast<unsigned long long>(h));
  return text;
}

/// The headers of every answer (docs/ui.md, "Security").
void secure(httplib::Response& res) {
  res.set_header("Content-Security-Policy", content_security_policy);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("X-Frame-Options", "DENY");
}

api_params params_of(const httplib::Request& req) {
  api_params out;
  for (const auto& [k, v] : req.params) out.emplace(k, v);
  return out;
}

/// What the event streams wait on.
struct change_feed {
  std::mutex mutex;
  std::condition_variable changed;
  std::uint64_t version = 0;
  bool stopping = false;
  int streams = 0;
};

}  // namespace

int run_ui(const ui_options& options) {
  std::error_code ec;
  if (!std::filesystem::is_directory(options.store, ec)) {
    std::fprintf(stderr, "loom ui: no store at %s (not a directory)\n", options.store.string().c_str());
    return 1;
  }
  // Every thread started from here on has them blocked: only the signal thread takes them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  ui_api api(options.store);
  change_feed feed;
  httplib::Server server;
  const auto pool_size = static_cast<std::size_t>(std::max(1, options.max_streams) + 8);
  server.new_task_queue = [pool_size] { return new httplib::ThreadPool(pool_size); };
  server.set_keep_alive_max_count(100);
  server.set_keep_alive_timeout(1);  // (a stop waits for idle connections this long)
  server.set_read_timeout(5, 0);
  server.set_payload_max_length(64 * 1024);

  std::set<std::string> allowed_hosts;  // filled once the port is known
  const ui_asset_file* page = asset("index.html");
  if (page == nullptr) {
    std::fprintf(stderr, "loom ui: this program was built without its page (tools/ui/assets/index.html)\n");
    return 1;
  }

  const auto json_reply = [](httplib::Response& res, int status, const std::string& body) {
    res.status = status;
    res.set_header("Cache-Control", "no-store");
    res.set_content(body, "application/json; charset=utf-8");
  };
  const auto error_reply = [&](httplib::Response& res, int status, const std::string& message) {
    json_reply(res, status, nlohmann::json{{"error", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  };
  const auto page_reply = [page](httplib::Response& res, int status) {
    res.status = status;
    res.set_header("Cache-Control", "no-store");
    res.set_content(std::string(page->bytes), std::string(page->type));
  };

  // Every answer: the security headers; then the method and the Host header are checked.
  server.set_pre_routing_handler([&](const httplib::Request& req, httplib::Response& res) {
    secure(res);
    if (req.method != "GET" && req.method != "HEAD") {
      res.set_header("Allow", "GET, HEAD");
      error_reply(res, 405, "method " + req.method + " not allowed: this server only reads");
      return httplib::Server::HandlerResponse::Handled;
    }
    const std::string host = lowercase(req.get_header_value("Host"));
    if (req.get_header_value_count("Host") != 1 || allowed_hosts.count(host) == 0) {
      error_reply(res, 403, "Host '" + req.get_header_value("Host") + "' is not this server's name");
      return httplib::Server::HandlerResponse::Handled;
    }
    // The API answers the page only: a request another site's page makes (which a
    // browser marks cross-site or same-site) is refused, so that it cannot hold the event
    // streams or make the server read. Opening a link to a page is allowed.
    const std::string site = req.get_header_value("Sec-Fetch-Site");
    if (req.path.rfind("/api/", 0) == 0 && !site.empty() && site != "same-origin" && site != "none") {
      error_reply(res, 403, "the API answers this server's page only (Sec-Fetch-Site: " + site + ")");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // What a handler threw: 500, said in JSON (not in a header, as httplib would).
  server.set_exception_handler([&](const httplib::Request&, httplib::Response& res, std::exception_ptr error) {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    secure(res);
    error_reply(res, 500, "loom ui: " + what);
  });

  // Anything no route answered, and a page that is not there: the page, which shows
  // "not found" (it asks the API what is missing). Answers that have a body keep it.
  server.set_error_handler(httplib::Server::HandlerWithResponse([&](const httplib::Request& req, httplib::Response& res) {
    if (!res.has_header("Content-Security-Policy")) {
      // httplib refused the request before routing (a bad request line, a URI too long, a
      // bad range): no page for it, and no Host was checked.
      secure(res);
      res.set_content("loom ui: HTTP " + std::to_string(res.status) + "\n", "text/plain; charset=utf-8");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    if (res.status >= 500) {
      error_reply(res, res.status, "loom ui: internal error");
    } else if (req.path.rfind("/api/", 0) == 0) {
      error_reply(res, res.status, "no API at " + req.path);
    } else {
      page_reply(res, res.status);
    }
    return httplib::Server::HandlerResponse::Handled;
  }));

  // ---- Pages ----
  server.Get("/", [&](const httplib::Request&, httplib::Response& res) { page_reply(res, 200); });
  // A deep link: the page, 404 when what it names is not there, 503 when the store
  // cannot be read now (the page then says why, from the API).
  const auto status_of = [](std::optional<bool> exists) { return !exists ? 503 : *exists ? 200 : 404; };
  server.Get(R"(/e/([^/]+)/n/(.+)/i/(\d{1,19}))", [&](const httplib::Request& req, httplib::Response& res) {
    const std::uint64_t item = std::strtoull(req.matches[3].str().c_str(), nullptr, 10);
    page_reply(res, status_of(api.page_exists(req.matches[1], req.matches[2].str(), item)));
  });
  server.Get(R"(/e/([^/]+)/n/(.+))", [&](const httplib::Request& req, httplib::Response& res) {
    page_reply(res, status_of(api.page_exists(req.matches[1], req.matches[2].str(), std::nullopt)));
  });
  server.Get(R"(/e/([^/]+))", [&](const httplib::Request& req, httplib::Response& res) {
    page_reply(res, status_of(api.page_exists(req.matches[1], std::nullopt, std::nullopt)));
  });
  server.Get(R"(/assets/([a-z]+\.(?:js|css)))", [&](const httplib::Request& req, httplib::Response& res) {
    const ui_asset_file* a = asset(req.matches[1].str());
    if (a == nullptr) {
      res.status = 404;
      return;
    }
    const std::string tag = etag_of(a->bytes);
    res.set_header("ETag", tag);
    res.set_header("Cache-Control", "no-cache");
    if (req.get_header_value("If-None-Match") == tag) {
      res.status = 304;
      return;
    }
    res.set_content(std::string(a->bytes), std::string(a->type));
  });

  // ---- The API ----
  server.Get("/api/executions", [&](const httplib::Request& req, httplib::Response& res) {
    const auto answer = api.executions(params_of(req));
    json_reply(res, answer.status, answer.body);
  });
  server.Get(R"(/api/executions/([^/]+))", [&](const httplib::Request& req, httplib::Response& res) {
    const auto answer = api.execution(req.matches[1], "", params_of(req));
    json_reply(res, answer.status, answer.body);
  });
  server.Get(R"(/api/executions/([^/]+)/([a-z]+))", [&](const httplib::Request& req, httplib::Response& res) {
    const auto answer = api.execution(req.matches[1], req.matches[2], params_of(req));
    json_reply(res, answer.status, answer.body);
  });
  server.Get("/api/events", [&](const httplib::Request&, httplib::Response& res) {
    {
      std::lock_guard lock(feed.mutex);
      if (feed.stopping) {
        error_reply(res, 503, "the server is stopping");
        return;
      }
      if (feed.streams >= options.max_streams) {
        error_reply(res, 503, "too many event streams open (" + std::to_string(options.max_streams) + ")");
        return;
      }
      ++feed.streams;
    }
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Accel-Buffering", "no");
    // Each stream: the version it last sent (none yet: the first call sends it at once).
    auto sent = std::make_shared<std::optional<std::uint64_t>>();
    res.set_chunked_content_provider(
        "text/event-stream",
        [&feed, &options, &server, sent](std::size_t, httplib::DataSink& sink) {
          std::string out;
          {
            std::unique_lock lock(feed.mutex);
            if (!*sent) {
              out = "retry: 1000\n\n";
            } else {
              // Woken every second to see whether the browser is still there.
              const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.heartbeat_ms);
              while (!feed.stopping && feed.version == **sent && std::chrono::steady_clock::now() < until) {
                feed.changed.wait_for(lock, std::chrono::seconds(1));
                if (!sink.is_writable()) return false;
                if (!server.is_running()) feed.stopping = true;  // it stopped on its own
              }
              if (feed.stopping) {
                lock.unlock();
                sink.done();
                return true;
              }
            }
            if (!*sent || feed.version != **sent) {
              *sent = feed.version;
              out += "event: change\ndata: {\"version\":" + std::to_string(feed.version) + "}\n\n";
            } else {
              out = ": ping\n\n";
            }
          }
          return sink.write(out.data(), out.size());
        },
        [&feed](bool) {
          std::lock_guard lock(feed.mutex);
          --feed.streams;
        });
  });

  // ---- Listen ----
  int port = options.port;
  if (port == 0) {
    port = server.bind_to_any_port(options.bind);
    if (port < 0) port = -1;
  } else if (!server.bind_to_port(options.bind, port)) {
    port = -1;
  }
  if (port <= 0) {
    std::fprintf(stderr, "loom ui: cannot listen on %s:%d\n", options.bind.c_str(), options.port);
    return 1;
  }
  const std::string p = std::to_string(port);
  for (const std::string host : {"127.0.0.1", "localhost", "[::1]"}) allowed_hosts.insert(host + ":" + p);
  const bool any_address = options.bind == "0.0.0.0" || options.bind == "::";
  if (!any_address) allowed_hosts.insert(lowercase(options.bind.find(':') != std::string::npos ? "[" + options.bind + "]" : options.bind) + ":" + p);
  if (options.bind != "127.0.0.1" && options.bind != "localhost" && options.bind != "::1") {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) == 0) allowed_hosts.insert(lowercase(name) + ":" + p);
  }
  if (port == 80) {  // a browser leaves out the default port
    std::set<std::string> bare;
    for (const auto& h : allowed_hosts) bare.insert(h.substr(0, h.size() - 3));
    allowed_hosts.insert(bare.begin(), bare.end());
  }
  const std::string shown = options.bind.find(':') != std::string::npos ? "[" + options.bind + "]" : options.bind;
  std::printf("loom ui: http://%s:%d/ (store %s; Ctrl-C stops)\n", shown.c_str(), port, options.store.string().c_str());
  std::fflush(stdout);

  // ---- The watcher and the signal thread ----
  std::atomic<bool> done{false};
  std::atomic<bool> signalled{false};
  std::thread watcher([&] {
    loom::detail::change_counter counter;
    auto last = store_fingerprint::of_store(options.store, counter);
    while (!done.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(options.watch_ms));
      const auto now = store_fingerprint::of_store(options.store, counter);
      if (now == last) continue;
      last = now;
      std::lock_guard lock(feed.mutex);
      ++feed.version;
      api.changed(feed.version);
      feed.changed.notify_all();
    }
  });
  std::thread signals([&] {
    const timespec pause{0, 200'000'000};
    while (!done.load()) {
      const int signal = sigtimedwait(&stop_signals, nullptr, &pause);
      if (signal != SIGINT && signal != SIGTERM) continue;
      std::fprintf(stderr, "loom ui: stopping (%s)\n", signal == SIGINT ? "SIGINT" : "SIGTERM");
      signalled = true;
      {
        std::lock_guard lock(feed.mutex);
        feed.stopping = true;
        feed.changed.notify_all();
      }
      // stop() does nothing before the server runs (a signal right after the start):
      // asked again until it has stopped. A second signal does not wait.
      const timespec again{0, 20'000'000};
      while (!done.load()) {
        server.stop();
        const int next = sigtimedwait(&stop_signals, nullptr, &again);
        if (next == SIGINT || next == SIGTERM) {
          std::fprintf(stderr, "loom ui: stopped at once (a second signal)\n");
          std::_Exit(1);
        }
      }
      return;
    }
  });

  const bool listened = server.listen_after_bind();
  done = true;
  {
    std::lock_guard lock(feed.mutex);
    feed.stopping = true;
    feed.changed.notify_all();
  }
  signals.join();
  watcher.join();
  if (!listened && !signalled) std::fprintf(stderr, "loom ui: the server stopped on an error\n");
  return listened || signalled ? 0 : 1;
}

}  // namespace loom_tool
