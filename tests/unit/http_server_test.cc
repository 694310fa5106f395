// The admission server's connection handling on real loopback sockets: requests are served,
// idle and silent connections are closed by the per-connection deadline, oversized bodies get
// a clean 413.

#include "webhook/server/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>

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
  void send(const std::string& data) {
    ASSERT_EQ(::send(fd_, data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
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

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    options.threads = 2;
    options.maxBodyBytes = 1024;
    options.idleTimeout = std::chrono::seconds(1);
    server_ = std::make_unique<HttpServer>(options, [this](const HttpRequest& r) {
      ++requests_;
      return HttpResponse{200, "text/plain", r.method + " " + r.target + " " + r.body};
    });
    server_->start();
  }
  void TearDown() override { server_->stop(); }

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
  // A half-sent request does not hold the connection open past the deadline either.
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

}  // namespace
}  // namespace budgetgate::server
