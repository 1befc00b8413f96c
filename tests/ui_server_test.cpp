// `loom ui` as a user starts it (the real program on a real store), asked over HTTP: the
// page and its assets with the security headers, deep links (404 for what is not
// there), the API, the event stream (a change is pushed; at most N streams), and what it
// refuses: a Host that is not its own, methods other than GET, paths out of the store.
// SIGTERM stops it, streams open, with exit code 0.
#include <catch2/catch.hpp>

#include "tool_fixture.hpp"

#include <loom/detail/change_counter.hpp>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace {

using namespace loom_tool_test;
using json = nlohmann::json;

/// `loom ui --store STORE --port 0 ...` running; its port read from its first line.
struct ui_process {
  pid_t pid = -1;
  int port = 0;
  fs::path out;
  fs::path err;

  explicit ui_process(const fs::path& store, std::vector<std::string> more = {}) {
    static int counter = 0;
    const fs::path base = fs::temp_directory_path() / ("loom-ui-test-" + std::to_string(::getpid()) + "-" +
                                                       std::to_string(counter++));
    out = base.string() + ".out";
    err = base.string() + ".err";
    std::vector<std::string> command = {LOOM_TOOL_BINARY, "ui", "--store", store.string(), "--port", "0"};
    command.insert(command.end(), more.begin(), more.end());
    pid = spawn(command, {{"LOOM_STORE", std::nullopt}}, out, err);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    const std::regex address(R"(http://[^:]+:(\d+)/)");
    while (std::chrono::steady_clock::now() < give_up) {
      std::smatch m;
      const std::string first = slurp(out);
      if (std::regex_search(first, m, address)) {
        port = std::stoi(m[1]);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    FAIL("loom ui printed no address: " << slurp(out) << slurp(err));
  }
  ~ui_process() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      wait_for(pid);
    }
    fs::remove(out);
    fs::remove(err);
  }
  int stop() {
    ::kill(pid, SIGTERM);
    const int code = wait_for(pid);
    pid = -1;
    return code;
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(10, 0);
    return c;
  }
  std::string host() const { return "127.0.0.1:" + std::to_string(port); }
};

/// The server's event stream, read on a thread of its own into `received`. Ends when the
/// server does: destroyed while the server still runs, it stops the server first (the
/// stream would otherwise wait for the next heartbeat).
struct event_stream {
  ui_process& ui;
  std::string received;
  std::mutex mutex;
  std::thread reader;

  explicit event_stream(ui_process& server) : ui(server) {
    reader = std::thread([this] {
      auto c = ui.client();
      c.set_read_timeout(30, 0);
      c.Get("/api/events", [this](const char* data, std::size_t n) {
        std::lock_guard lock(mutex);
        received.append(data, n);
        return true;
      });
    });
  }
  ~event_stream() {
    if (ui.pid > 0) ui.stop();
    reader.join();
  }
  event_stream(const event_stream&) = delete;
  event_stream& operator=(const event_stream&) = delete;

  /// Whether `text` arrives within 10 s.
  bool seen(const std::string& text) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < give_up) {
      {
        std::lock_guard lock(mutex);
        if (received.find(text) != std::string::npos) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
};

}  // namespace

TEST_CASE("loom ui: the page, its assets and the API, each with the security headers") {
  store_fixture f;
  f.need("chains");
  ui_process ui(f.root);
  auto c = ui.client();
  const auto page = c.Get("/");
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK_THAT(page->get_header_value("Content-Type"), Catch::StartsWith("text/html"));
  CHECK_THAT(page->body, Catch::Contains("/assets/app.js"));
  CHECK_THAT(page->get_header_value("Content-Security-Policy"), Catch::Contains("default-src 'none'"));
  CHECK_THAT(page->get_header_value("Content-Security-Policy"), Catch::Contains("script-src 'self'"));
  CHECK(page->get_header_value("X-Content-Type-Options") == "nosniff");
  for (const std::string asset : {"/assets/app.js", "/assets/app.css"}) {
    const auto a = c.Get(asset.c_str());
    REQUIRE(a);
    CHECK(a->status == 200);
    CHECK_FALSE(a->body.empty());
    const std::string tag = a->get_header_value("ETag");
    REQUIRE_FALSE(tag.empty());
    const auto again = c.Get(asset.c_str(), {{"If-None-Match", tag}});
    REQUIRE(again);
    CHECK(again->status == 304);
  }
  const auto list = c.Get("/api/executions");
  REQUIRE(list);
  CHECK(list->status == 200);
  CHECK(list->get_header_value("Cache-Control") == "no-store");
  CHECK(json::parse(list->body)["executions"][0]["id"] == "chains");
  const auto node = c.Get("/api/executions/chains/node?path=n0%2Fdn1");
  REQUIRE(node);
  CHECK(node->status == 200);
  CHECK(json::parse(node->body)["node"]["path"] == "n0/dn1");
  CHECK(ui.stop() == 0);
}

TEST_CASE("loom ui: deep links answer the page, 404 for an execution, node or item that is not there") {
  store_fixture f;
  f.need("chains");
  ui_process ui(f.root);
  auto c = ui.client();
  auto status = [&](const std::string& path) {
    const auto r = c.Get(path.c_str());
    REQUIRE(r);
    if (r->status == 200 || r->status == 404) CHECK_THAT(r->body, Catch::Contains("/assets/app.js"));  // the page
    return r->status;
  };
  CHECK(status("/e/chains") == 200);
  CHECK(status("/e/chains/n/n0") == 200);
  CHECK(status("/e/chains/n/n0/dn3") == 200);
  CHECK(status("/e/nope") == 404);
  CHECK(status("/e/chains/n/n0/dn99") == 404);
  CHECK(status("/e/chains/n/n0/dn3/i/0") == 404);  // not a map node
  CHECK(status("/no/such/page") == 404);
  const auto api = c.Get("/api/executions/nope");
  REQUIRE(api);
  CHECK(api->status == 404);
  CHECK_THAT(api->body, Catch::Contains("no execution 'nope'"));
  const auto unknown_api = c.Get("/api/nothing");
  REQUIRE(unknown_api);
  CHECK(unknown_api->status == 404);
  CHECK(json::parse(unknown_api->body).contains("error"));
}

TEST_CASE("loom ui: a foreign Host, other methods and paths out of the store are refused") {
  store_fixture f;
  f.need("chains");
  std::ofstream(f.root.parent_path() / "secret.txt") << "not for the page";
  ui_process ui(f.root);
  auto c = ui.client();
  // DNS rebinding: a page of evil.example whose name now points here.
  const auto foreign = c.Get("/api/executions", {{"Host", "evil.example:" + std::to_string(ui.port)}});
  REQUIRE(foreign);
  CHECK(foreign->status == 403);
  CHECK(foreign->body.find("chains") == std::string::npos);
  const auto wrong_port = c.Get("/", {{"Host", "127.0.0.1:1"}});
  REQUIRE(wrong_port);
  CHECK(wrong_port->status == 403);
  const auto localhost = c.Get("/", {{"Host", "localhost:" + std::to_string(ui.port)}});
  REQUIRE(localhost);
  CHECK(localhost->status == 200);
  const auto post = c.Post("/api/executions", "{}", "application/json");
  REQUIRE(post);
  CHECK(post->status == 405);
  const auto del = c.Delete("/api/executions/chains");
  REQUIRE(del);
  CHECK(del->status == 405);
  // Paths that would name files: none is served (nothing is served from a path).
  for (const std::string path :
       {"/assets/../loom.db", "/assets/..%2Floom.db", "/assets/%2e%2e/%2e%2e/secret.txt", "/../secret.txt",
        "/loom.db", "/chains/workflow.json", "/api/executions/..%2F..%2Fsecret.txt",
        "/api/executions/chains/node?path=..%2F..%2Fsecret.txt", "/e/..%2F..%2Fsecret.txt"}) {
    INFO(path);
    const auto r = c.Get(path.c_str());
    REQUIRE(r);
    CHECK(r->status == 404);
    CHECK(r->body.find("not for the page") == std::string::npos);
    CHECK(r->body.find("SQLite format") == std::string::npos);
  }
}

TEST_CASE("loom ui: the event stream pushes a change of the store, streams are bounded, SIGTERM ends them") {
  store_fixture f;
  f.need("chains");
  ui_process ui(f.root, {});
  event_stream events(ui);
  auto seen = [&](const std::string& text) { return events.seen(text); };
  CHECK(seen("retry: 1000"));
  CHECK(seen("data: {\"version\":0}"));
  // Another run writes the store: version 1 (or more) is pushed.
  f.need("boom");
  CHECK(seen("event: change\ndata: {\"version\":1}"));
  const auto list = ui.client().Get("/api/executions");
  REQUIRE(list);
  CHECK(json::parse(list->body)["total"] == 2);
  CHECK(ui.stop() == 0);  // with the stream open
}

TEST_CASE("loom ui: a bump of the store's change counter alone is pushed as a change") {
  // What the runtime does after each commit, without the commit: the database's files do
  // not change, so only the counter can tell the server.
  store_fixture f;
  f.need("chains");
  const fs::path db = f.root / "loom.db";
  REQUIRE(fs::exists(loom::detail::change_counter::path_for(db)));  // the runs made it
  ui_process ui(f.root, {});
  event_stream events(ui);
  auto seen = [&](const std::string& text) { return events.seen(text); };
  REQUIRE(seen("data: {\"version\":0}"));
  const auto files_before = std::pair{fs::file_size(db), fs::last_write_time(db)};
  loom::detail::change_counter counter = loom::detail::change_counter::for_writing(db, 0600);
  REQUIRE(counter.on());
  counter.bump();
  CHECK(seen("event: change\ndata: {\"version\":1}"));
  CHECK(files_before == std::pair{fs::file_size(db), fs::last_write_time(db)});
  CHECK_FALSE(fs::exists(f.root / "loom.db-wal"));
  CHECK(ui.stop() == 0);
}

TEST_CASE("loom ui: at most 16 event streams at once, the 17th is refused with 503") {
  store_fixture f;
  f.need("chains");
  ui_process ui(f.root);
  std::atomic<int> open{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  for (int i = 0; i < 16; ++i) {
    readers.emplace_back([&] {
      auto c = ui.client();
      c.set_read_timeout(30, 0);
      bool counted = false;
      c.Get("/api/events", [&](const char*, std::size_t) {
        if (!counted) ++open;
        counted = true;
        return !stop.load();
      });
    });
  }
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (open.load() < 16 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(open.load() == 16);
  const auto refused = ui.client().Get("/api/events");
  REQUIRE(refused);
  CHECK(refused->status == 503);
  CHECK_THAT(refused->body, Catch::Contains("too many event streams"));
  const auto page = ui.client().Get("/api/executions");  // the rest still answers
  REQUIRE(page);
  CHECK(page->status == 200);
  CHECK(ui.stop() == 0);
  stop = true;
  for (auto& r : readers) r.join();
}

TEST_CASE("loom ui: SIGTERM as soon as it prints its address stops it (10 times)") {
  store_fixture f;
  f.need("chains");
  for (int i = 0; i < 10; ++i) {
    ui_process ui(f.root);
    ::kill(ui.pid, SIGTERM);
    int status = 0;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    pid_t ended = 0;
    while ((ended = ::waitpid(ui.pid, &status, WNOHANG)) == 0 && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    INFO("start " << i);
    REQUIRE(ended == ui.pid);
    ui.pid = -1;
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
}

TEST_CASE("loom ui: another site's requests to the API, a URI too long, bytes that are not UTF-8, no item") {
  store_fixture f;
  f.need("chains");
  ui_process ui(f.root);
  auto c = ui.client();
  // Another site's page: its fetches are marked cross-site (or same-site) by the browser.
  const auto cross = c.Get("/api/executions", {{"Sec-Fetch-Site", "cross-site"}});
  REQUIRE(cross);
  CHECK(cross->status == 403);
  const auto same_site = c.Get("/api/events", {{"Sec-Fetch-Site", "same-site"}});
  REQUIRE(same_site);
  CHECK(same_site->status == 403);
  const auto own = c.Get("/api/executions", {{"Sec-Fetch-Site", "same-origin"}});
  REQUIRE(own);
  CHECK(own->status == 200);
  const auto link = c.Get("/e/chains", {{"Sec-Fetch-Site", "cross-site"}});  // a link to the page: allowed
  REQUIRE(link);
  CHECK(link->status == 200);
  // A URI httplib refuses before routing: a short text, with the security headers.
  const auto too_long = c.Get(("/" + std::string(9000, 'a')).c_str());
  REQUIRE(too_long);
  CHECK(too_long->status >= 400);
  CHECK(too_long->body.find("/assets/app.js") == std::string::npos);
  CHECK_THAT(too_long->get_header_value("Content-Security-Policy"), Catch::Contains("frame-ancestors 'none'"));
  CHECK(too_long->get_header_value("X-Frame-Options") == "DENY");
  // Bytes that are not UTF-8 in a parameter: a 400 that says which.
  const auto bad_bytes = c.Get("/api/executions?offset=%FF");
  REQUIRE(bad_bytes);
  CHECK(bad_bytes->status == 400);
  CHECK_THAT(bad_bytes->body, Catch::Contains("offset: expected a non-negative integer"));
  const auto no_k = c.Get("/api/executions/chains/item?path=n0");
  REQUIRE(no_k);
  CHECK(no_k->status == 400);
  CHECK(ui.stop() == 0);
}

TEST_CASE("loom ui: a request with two Host headers is refused") {
  store_fixture f;
  f.need("chains");
  ui_process ui(f.root);
  // Raw, as no client library sends two: the first names the server, the second not.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_port = htons(static_cast<std::uint16_t>(ui.port));
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&at), sizeof at) == 0);
  const std::string request = "GET /api/executions HTTP/1.1\r\nHost: " + ui.host() +
                              "\r\nHost: evil.example\r\nConnection: close\r\n\r\n";
  REQUIRE(::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size()));
  std::string answer;
  char chunk[4096];
  for (ssize_t n; (n = ::read(fd, chunk, sizeof chunk)) > 0;) answer.append(chunk, static_cast<std::size_t>(n));
  ::close(fd);
  CHECK_THAT(answer, Catch::StartsWith("HTTP/1.1 403"));
  CHECK(answer.find("chains") == std::string::npos);
}

TEST_CASE("loom ui: bad command lines") {
  store_fixture f;
  f.need("chains");
  const auto bad_port = loom_tool({"ui", "--store", f.store(), "--port", "70000"});
  CHECK(bad_port.code == 2);
  CHECK_THAT(bad_port.err, Catch::Contains("--port"));
  const auto bad_bind = loom_tool({"ui", "--store", f.store(), "--bind", "example.com"});
  CHECK(bad_bind.code == 2);
  CHECK_THAT(bad_bind.err, Catch::Contains("--bind: expected an IP address"));
  const auto no_store = loom_tool({"ui", "--store", (f.root / "nope").string()});
  CHECK(no_store.code == 1);
  CHECK_THAT(no_store.err, Catch::Contains("no store at"));
}
