// The admission server's connection handling on real loopback sockets: requests are served,
// idle and silent connections are closed by the per-connection deadline, oversized bodies get
// a clean 413; and what clients without credentials could exhaust is bounded: connections (the
// one idle the longest is shed at the limit), request body bytes in flight (503 beyond the
// budget), the time a begun request may take, and running out of file descriptors.

#include "webhook/server/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/loopback_client.h"

namespace budgetgate::server {
namespace {

using Clock = std::chrono::steady_clock;

// A blocking client socket with a receive timeout, closed on destruction.
class Client {
 public:
  explicit Client(unsigned short port) : fd_(testing::connectLoopback(port)) {}
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  void send(const std::string& data) {
    ASSERT_EQ(::send(fd_, data.data(), data.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(data.size()));
  }
  // Whether something (an answer, or the close) arrives within `wait`.
  bool answersWithin(std::chrono::milliseconds wait) const {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(wait.count())) == 1;
  }
  // Reads until the peer closes or `until` appears; returns what was read.
  std::string receive(const std::string& until = {}) {
    return testing::receiveUntil(
        [this](char* buf, std::size_t size) { return ::recv(fd_, buf, size, 0); }, until, 1,
        &closed_);
  }
  bool closedByPeer() const { return closed_; }

 private:
  int fd_;
  bool closed_ = false;
};

// The calling process's CPU time (all threads: the server's included).
std::chrono::nanoseconds processCpuTime() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

// Polls `condition` every 10 ms for up to `limit`.
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto until = Clock::now() + limit;
  while (!condition()) {
    if (Clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.address = "127.0.0.1";
    options_.port = 0;
    options_.threads = 2;
    options_.maxBodyBytes = 1024;
    options_.idleTimeout = std::chrono::seconds(1);
    options_.requestTimeout = std::chrono::seconds(1);
    start();
  }
  void TearDown() override { server_->stop(); }

  void start() {
    server_ = std::make_unique<HttpServer>(options_, [this](const HttpRequest& r) {
      ++requests_;
      return HttpResponse{200, "text/plain", r.method + " " + r.target + " " + r.body};
    });
    server_->start();
  }
  // A server with other options in place of the default one.
  void restartWith(const std::function<void(ServerOptions&)>& change) {
    server_->stop();
    change(options_);
    start();
  }
  const ServerStats& stats() const { return server_->stats(); }

  ServerOptions options_;
  std::unique_ptr<HttpServer> server_;
  std::atomic<int> requests_{0};
};

TEST_F(HttpServerTest, ServesKeepAliveRequests) {
  Client c(server_->port());
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 3; ++i) {
    c.send("POST /validate HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi");
    const auto reply = c.receive("POST /validate hi");
    EXPECT_NE(reply.find("HTTP/1.1 200"), std::string::npos) << reply;
    EXPECT_NE(reply.find("POST /validate hi"), std::string::npos) << reply;
  }
  EXPECT_EQ(requests_.load(), 3);
}

TEST_F(HttpServerTest, ClosesASilentConnectionAfterTheIdleTimeout) {
  Client c(server_->port());
  ASSERT_TRUE(c.connected());
  const auto started = Clock::now();
  const auto got = c.receive();
  const auto waited = Clock::now() - started;
  EXPECT_TRUE(got.empty());
  EXPECT_TRUE(c.closedByPeer());
  EXPECT_GE(waited, std::chrono::milliseconds(900));
  EXPECT_LT(waited, std::chrono::seconds(5));
}

TEST_F(HttpServerTest, ClosesAnIdleKeepAliveConnectionAndKeepsServingOthers) {
  Client idle(server_->port());
  idle.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(idle.receive("GET /a").find("200"), std::string::npos);
  // A half-sent request does not hold the connection open past its deadline either.
  Client slow(server_->port());
  slow.send("POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npartial");
  const auto started = Clock::now();
  idle.receive();
  slow.receive();
  EXPECT_TRUE(idle.closedByPeer());
  EXPECT_TRUE(slow.closedByPeer());
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(5));
  Client fresh(server_->port());
  fresh.send("GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(fresh.receive().find("GET /c"), std::string::npos);
}

TEST_F(HttpServerTest, RefusesOversizedBodiesWith413) {
  Client c(server_->port());
  c.send("POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'x'));
  const auto reply = c.receive("bytes");
  EXPECT_NE(reply.find("HTTP/1.1 413"), std::string::npos) << reply;
  EXPECT_EQ(requests_.load(), 0);
  EXPECT_EQ(server_->stats().rejectedTooLarge.load(), 1);
}

TEST_F(HttpServerTest, ShedsTheConnectionIdleTheLongestToAdmitANewOneAtTheLimit) {
  restartWith([](ServerOptions& o) {
    o.maxConnections = 3;
    o.idleTimeout = std::chrono::seconds(30);
  });
  ASSERT_EQ(server_->maxConnections(), 3u);
  Client first(server_->port()), second(server_->port()), third(server_->port());
  for (Client* c : {&first, &second, &third}) {
    c->send("GET /warm HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_NE(c->receive("GET /warm").find("200"), std::string::npos);
    // Each becomes idle in turn (the server marks it right after answering).
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Client newcomer(server_->port());
  newcomer.send("GET /new HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(newcomer.receive().find("GET /new"), std::string::npos);
  // The first one, idle the longest, made room; the others are still served.
  EXPECT_TRUE(first.receive().empty());
  EXPECT_TRUE(first.closedByPeer());
  for (Client* c : {&second, &third}) {
    c->send("GET /again HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_NE(c->receive("GET /again").find("200"), std::string::npos);
  }
  EXPECT_EQ(stats().connectionsShed.load(), 1);
  EXPECT_EQ(stats().connectionsRefused.load(), 0);
  EXPECT_LE(stats().openConnections.load(), 3);
}

TEST_F(HttpServerTest, RefusesANewConnectionAtTheLimitWhenNoneIsIdle) {
  restartWith([](ServerOptions& o) {
    o.maxConnections = 2;
    o.requestTimeout = std::chrono::seconds(20);
  });
  Client a(server_->port()), b(server_->port());
  for (Client* c : {&a, &b}) {
    c->send("POST /half HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab");
  }
  ASSERT_TRUE(eventually([&] { return stats().connections.load() == 2; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // both mid-request
  const auto started = Clock::now();
  Client refused(server_->port());
  EXPECT_TRUE(refused.receive().empty());
  EXPECT_TRUE(refused.closedByPeer());
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(2));  // at once, not at a deadline
  EXPECT_EQ(stats().connectionsRefused.load(), 1);
  // The busy ones were not touched; once one is idle a newcomer gets its place.
  a.send("cd");
  EXPECT_NE(a.receive("POST /half abcd").find("200"), std::string::npos);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  Client later(server_->port());
  later.send("GET /later HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(later.receive().find("GET /later"), std::string::npos);
  b.send("cd");
  EXPECT_NE(b.receive("POST /half abcd").find("200"), std::string::npos);
  EXPECT_EQ(stats().connectionsShed.load(), 1);
}

TEST_F(HttpServerTest, ARequestMustArriveWithinTheRequestTimeoutHoweverItTrickles) {
  restartWith([](ServerOptions& o) {
    o.idleTimeout = std::chrono::seconds(30);
    o.requestTimeout = std::chrono::seconds(1);
  });
  Client idle(server_->port());
  idle.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_NE(idle.receive("GET /a").find("200"), std::string::npos);

  Client slow(server_->port());
  const auto started = Clock::now();
  slow.send("POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n");
  bool closed = false;
  // A byte every 100 ms: never silent for long, but 100 bytes would take 10 s.
  while (!closed && Clock::now() - started < std::chrono::seconds(5)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    closed = ::send(slow.fd(), "x", 1, MSG_NOSIGNAL) != 1 || slow.answersWithin({});
  }
  const auto lasted = Clock::now() - started;
  EXPECT_TRUE(closed);
  EXPECT_GE(lasted, std::chrono::milliseconds(900));
  EXPECT_LT(lasted, std::chrono::milliseconds(2500));
  EXPECT_EQ(stats().requestTimeouts.load(), 1);
  EXPECT_EQ(requests_.load(), 1);
  // The request timeout does not apply to waiting between requests: idle for longer than it,
  // the keep-alive connection still serves.
  idle.send("GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(idle.receive("GET /b").find("200"), std::string::npos);
}

TEST_F(HttpServerTest, AnswersUploadsBeyondTheInflightBudgetWith503AndStillServesSmallOnes) {
  restartWith([](ServerOptions& o) {
    o.maxBodyBytes = 512 * 1024;
    o.maxInflightBodyBytes = 1024 * 1024;
    o.largeBodyBytes = 64 * 1024;  // large bodies may fill 768 KiB of the budget
    o.requestTimeout = std::chrono::seconds(20);
  });
  constexpr std::size_t kLarge = 300 * 1024;
  const std::string header =
      "POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(kLarge) + "\r\n\r\n";
  const std::string started(1024, 'x');
  std::vector<std::unique_ptr<Client>> uploads;
  for (int i = 0; i < 8; ++i) {
    uploads.push_back(std::make_unique<Client>(server_->port()));
    uploads.back()->send(header + started);
  }
  // Two fit (600 KiB); a third would pass 768 KiB: six are answered 503 at once and closed.
  ASSERT_TRUE(eventually([&] { return stats().rejectedOverloaded.load() == 6; }));
  std::vector<Client*> accepted;
  int refused = 0;
  for (auto& u : uploads) {
    if (!u->answersWithin(std::chrono::milliseconds(300))) {
      accepted.push_back(u.get());
      continue;
    }
    const auto reply = u->receive();
    EXPECT_NE(reply.find("HTTP/1.1 503"), std::string::npos) << reply;
    EXPECT_NE(reply.find("in flight"), std::string::npos) << reply;
    EXPECT_TRUE(u->closedByPeer());
    ++refused;
  }
  EXPECT_EQ(refused, 6);
  ASSERT_EQ(accepted.size(), 2u);
  EXPECT_EQ(stats().inflightBodyBytes.load(), static_cast<long long>(2 * kLarge));
  // An ordinary review still fits beside them.
  Client small(server_->port());
  small.send("POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n" +
             std::string(2000, 's'));
  EXPECT_NE(small.receive("sss").find("HTTP/1.1 200"), std::string::npos);
  // The uploads that got their reservation complete; then the whole budget is free again.
  accepted.front()->send(std::string(kLarge - started.size(), 'x'));
  EXPECT_NE(accepted.front()->receive("POST /big x").find("HTTP/1.1 200"), std::string::npos);
  uploads.clear();
  EXPECT_TRUE(eventually([&] { return stats().inflightBodyBytes.load() == 0; }));
  EXPECT_EQ(requests_.load(), 2);
}

// Lowers this process's soft RLIMIT_NOFILE (shared by the server in it) for a scope.
class ScopedFileLimit {
 public:
  explicit ScopedFileLimit(rlim_t soft) {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit lowered = saved_;
    lowered.rlim_cur = soft;
    ok_ = ::setrlimit(RLIMIT_NOFILE, &lowered) == 0;
  }
  ~ScopedFileLimit() { ::setrlimit(RLIMIT_NOFILE, &saved_); }
  ScopedFileLimit(const ScopedFileLimit&) = delete;
  ScopedFileLimit& operator=(const ScopedFileLimit&) = delete;
  bool ok() const { return ok_; }

 private:
  rlimit saved_{};
  bool ok_ = false;
};

// Descriptors closed at the end of a scope.
struct Descriptors {
  std::vector<int> fds;
  ~Descriptors() {
    for (int fd : fds) ::close(fd);
  }
};

TEST_F(HttpServerTest, AcceptPausesInsteadOfSpinningWhenOutOfFileDescriptors) {
  restartWith([](ServerOptions& o) {
    o.idleTimeout = std::chrono::seconds(30);
    o.requestTimeout = std::chrono::seconds(30);
  });
  // Three connections busy with half-sent requests: nothing idle that could be shed.
  std::vector<std::unique_ptr<Client>> busy;
  for (int i = 0; i < 3; ++i) {
    busy.push_back(std::make_unique<Client>(server_->port()));
    busy.back()->send("POST /busy HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab");
  }
  ASSERT_TRUE(eventually([&] { return stats().connections.load() == 3; }));

  Descriptors queued;
  {
    // Leave the process a dozen descriptors and take them all: accept() has none left.
    const int probe = ::dup(0);
    ASSERT_GE(probe, 0);
    ::close(probe);  // `probe` was the lowest free descriptor
    ScopedFileLimit limit(static_cast<rlim_t>(probe) + 12);
    ASSERT_TRUE(limit.ok());
    for (int fd; (fd = ::socket(AF_INET, SOCK_STREAM, 0)) >= 0;) queued.fds.push_back(fd);
    ASSERT_EQ(errno, EMFILE);
    ASSERT_GE(queued.fds.size(), 4u);
    // Connections the server cannot accept yet, each with a whole request already sent.
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(server_->port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (std::size_t i = 0; i < queued.fds.size(); ++i) {
      const int fd = queued.fds[i];
      timeval tv{10, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
      const std::string request =
          "GET /queued" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
      ASSERT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL),
                static_cast<ssize_t>(request.size()));
    }
    ASSERT_TRUE(eventually([&] { return stats().acceptErrors.load() > 0; }));

    // A second with accept() failing: the loop must wait between attempts, not spin.
    const auto cpuBefore = processCpuTime();
    const auto errorsBefore = stats().acceptErrors.load();
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const auto cpu = processCpuTime() - cpuBefore;
    const auto attempts = stats().acceptErrors.load() - errorsBefore;
    RecordProperty(
        "cpuMicrosecondsInOneSecond",
        std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(cpu).count()));
    RecordProperty("acceptAttemptsInOneSecond", std::to_string(attempts));
    EXPECT_LT(cpu, std::chrono::milliseconds(150))
        << std::chrono::duration_cast<std::chrono::milliseconds>(cpu).count() << " ms of CPU";
    EXPECT_LT(attempts, 20);
    EXPECT_GT(attempts, 0);

    // Established connections are served meanwhile.
    busy[0]->send("cd");
    EXPECT_NE(busy[0]->receive("POST /busy abcd").find("200"), std::string::npos);

    // Still out of descriptors: that connection, now idle, is closed to free one, and the
    // queued requests are served one by one as each connection closes.
    for (std::size_t i = 0; i < queued.fds.size(); ++i) {
      bool closed = false;
      const auto reply = testing::receiveUntil(
          [fd = queued.fds[i]](char* buf, std::size_t size) { return ::recv(fd, buf, size, 0); },
          "GET /queued" + std::to_string(i), 1, &closed);
      EXPECT_NE(reply.find("HTTP/1.1 200"), std::string::npos) << i << ": " << reply;
    }
    EXPECT_EQ(stats().connectionsShed.load(), 1);
    for (std::size_t i = 1; i < busy.size(); ++i) {
      busy[i]->send("cd");
      EXPECT_NE(busy[i]->receive("POST /busy abcd").find("200"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace budgetgate::server
