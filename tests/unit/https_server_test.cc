// The admission server over TLS on real loopback sockets, with an OpenSSL client: keep-alive
// and pipelined requests, bodies spanning several TLS records, clients that are not TLS or
// vanish mid-request, the idle deadline, a certificate reload, the TLS profile (protocol
// versions and suites offered), and idle TLS connections shed at the connection limit.

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/loopback_client.h"
#include "webhook/server/http_server.h"
#include "webhook/tls/self_signed.h"

namespace budgetgate::server {
namespace {

using Clock = std::chrono::steady_clock;

// A blocking TLS client that trusts the test CA; `configure` may restrict what it offers.
class TlsClient {
 public:
  TlsClient(unsigned short port, const std::string& caFile,
            const std::function<void(SSL_CTX*)>& configure = {})
      : ctx_(SSL_CTX_new(TLS_client_method())), fd_(testing::connectLoopback(port)) {
    SSL_CTX_load_verify_locations(ctx_.get(), caFile.c_str(), nullptr);
    SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
    if (configure) configure(ctx_.get());
    ssl_.reset(SSL_new(ctx_.get()));
    SSL_set_fd(ssl_.get(), fd_);
    // SSL_set_tlsext_host_name, without the macro's C cast.
    char host[] = "localhost";
    SSL_ctrl(ssl_.get(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, host);
    connected_ = fd_ >= 0 && SSL_connect(ssl_.get()) == 1;
  }
  ~TlsClient() {
    ssl_.reset();
    if (fd_ >= 0) ::close(fd_);
  }
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  bool connected() const { return connected_; }
  SSL* ssl() { return ssl_.get(); }
  std::string cipher() const { return SSL_get_cipher_name(ssl_.get()); }
  int version() const { return SSL_version(ssl_.get()); }
  void send(const std::string& data) {
    ASSERT_EQ(SSL_write(ssl_.get(), data.data(), static_cast<int>(data.size())),
              static_cast<int>(data.size()));
  }
  // Reads until the peer closes or `until` has appeared `times` times.
  std::string receive(const std::string& until = {}) {
    return testing::receiveUntil(
        [this](char* buf, std::size_t size) {
          errno = 0;
          const int n = SSL_read(ssl_.get(), buf, static_cast<int>(size));
          // The receive timeout is an error; anything else that ends the read is the server
          // closing the connection (with or without a TLS close_notify).
          return n > 0 ? n : (errno == EAGAIN || errno == EWOULDBLOCK ? -1 : 0);
        },
        until, 1, &closed_);
  }
  bool closedByPeer() const { return closed_; }
  // Drops the TCP connection without a TLS close_notify.
  void vanish() {
    ::close(fd_);
    fd_ = -1;
  }

 private:
  struct CtxFree {
    void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
  };
  struct SslFree {
    void operator()(SSL* s) const { SSL_free(s); }
  };
  std::unique_ptr<SSL_CTX, CtxFree> ctx_;
  std::unique_ptr<SSL, SslFree> ssl_;
  int fd_;
  bool connected_ = false;
  bool closed_ = false;
};

class HttpsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("budgetgate-https-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    writeCertificate("first");
    options_.address = "127.0.0.1";
    options_.port = 0;
    options_.threads = 2;
    options_.maxBodyBytes = 256 * 1024;
    options_.idleTimeout = std::chrono::seconds(1);
    options_.certificateCheckInterval = std::chrono::seconds(1);
    options_.certificates = std::make_shared<CertificateStore>(file("tls.crt"), file("tls.key"));
    start();
  }
  void TearDown() override {
    server_->stop();
    std::filesystem::remove_all(dir_);
  }

  void start() {
    server_ = std::make_unique<HttpServer>(options_, [this](const HttpRequest& r) {
      ++requests_;
      return HttpResponse{200, "text/plain",
                          r.method + " " + r.target + " " + std::to_string(r.body.size()) +
                              " bytes, last " +
                              (r.body.empty() ? "-" : r.body.substr(r.body.size() - 1))};
    });
    server_->start();
  }
  void restartWith(const std::function<void(ServerOptions&)>& change) {
    server_->stop();
    change(options_);
    start();
  }

  std::string file(const std::string& name) const { return (dir_ / name).string(); }
  void writeCertificate(const std::string& caName) {
    if (!ca_ || caName != caName_) ca_ = tls::generateCa(caName, Seconds(3600));
    caName_ = caName;
    const auto serving = tls::generateServing(*ca_, "localhost", {"localhost"}, Seconds(3600));
    std::ofstream(file("ca.crt")) << ca_->certPem;
    std::ofstream(file("tls.key")) << serving.keyPem;
    std::ofstream(file("tls.crt")) << serving.certPem;
  }

  std::filesystem::path dir_;
  std::optional<tls::KeyPair> ca_;
  std::string caName_;
  ServerOptions options_;
  std::unique_ptr<HttpServer> server_;
  std::atomic<int> requests_{0};
};

TEST_F(HttpsServerTest, ServesKeepAliveRequestsWithBodiesSpanningRecords) {
  TlsClient c(server_->port(), file("ca.crt"));
  ASSERT_TRUE(c.connected());
  for (const std::size_t size : {std::size_t{2}, std::size_t{12'611}, std::size_t{100'000}}) {
    const std::string body = std::string(size - 1, 'x') + "!";
    c.send("POST /validate HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(size) +
           "\r\n\r\n" + body);
    const auto reply = c.receive("last !");
    EXPECT_NE(reply.find("HTTP/1.1 200 OK"), std::string::npos) << reply;
    EXPECT_NE(reply.find("POST /validate " + std::to_string(size) + " bytes"), std::string::npos)
        << reply;
  }
  EXPECT_EQ(requests_.load(), 3);
}

TEST_F(HttpsServerTest, AnswersPipelinedRequestsInOrder) {
  TlsClient c(server_->port(), file("ca.crt"));
  ASSERT_TRUE(c.connected());
  c.send(
      "GET /one HTTP/1.1\r\nHost: x\r\n\r\nPOST /two HTTP/1.1\r\nHost: x\r\nContent-Length: "
      "3\r\n\r\nabcGET /three HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const auto reply = c.receive();
  const auto one = reply.find("GET /one 0 bytes");
  const auto two = reply.find("POST /two 3 bytes, last c");
  const auto three = reply.find("GET /three 0 bytes");
  ASSERT_NE(one, std::string::npos) << reply;
  ASSERT_NE(two, std::string::npos) << reply;
  ASSERT_NE(three, std::string::npos) << reply;
  EXPECT_LT(one, two);
  EXPECT_LT(two, three);
  EXPECT_NE(reply.find("Connection: close"), std::string::npos) << reply;
  EXPECT_TRUE(c.closedByPeer());
}

TEST_F(HttpsServerTest, SurvivesClientsThatAreNotTlsOrVanish) {
  {
    const int fd = testing::connectLoopback(server_->port());
    const std::string plain = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_EQ(::send(fd, plain.data(), plain.size(), 0), static_cast<ssize_t>(plain.size()));
    bool closed = false;
    const std::string answer = testing::receiveUntil(
        [fd](char* buf, std::size_t size) { return ::recv(fd, buf, size, 0); }, {}, 1, &closed);
    // A TLS alert (or nothing) and then the close: never an HTTP response to plain text.
    EXPECT_TRUE(closed);
    EXPECT_EQ(answer.find("HTTP/"), std::string::npos) << answer;
    EXPECT_LT(answer.size(), 64u) << answer;
    ::close(fd);
  }
  {
    TlsClient gone(server_->port(), file("ca.crt"));
    ASSERT_TRUE(gone.connected());
    gone.send("POST /half HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nonly part");
    gone.vanish();
  }
  TlsClient c(server_->port(), file("ca.crt"));
  ASSERT_TRUE(c.connected());
  c.send("GET /still HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(c.receive("GET /still").find("200 OK"), std::string::npos);
  // The half-sent request may or may not have been seen; the plain client is a handshake failure.
  for (int i = 0; i < 50 && server_->stats().tlsHandshakeFailures.load() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(server_->stats().tlsHandshakeFailures.load(), 1);
  EXPECT_EQ(requests_.load(), 1);
}

TEST_F(HttpsServerTest, ClosesAnIdleConnectionAtTheDeadline) {
  TlsClient c(server_->port(), file("ca.crt"));
  ASSERT_TRUE(c.connected());
  c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(c.receive("GET /a").find("200"), std::string::npos);
  const auto started = Clock::now();
  EXPECT_TRUE(c.receive().empty());
  EXPECT_TRUE(c.closedByPeer());
  EXPECT_GE(Clock::now() - started, std::chrono::milliseconds(900));
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(5));
}

TEST_F(HttpsServerTest, NewConnectionsGetAReloadedCertificate) {
  writeCertificate("second");  // a new CA: clients trusting only the first one now fail
  const auto started = Clock::now();
  bool reloaded = false;
  while (!reloaded && Clock::now() - started < std::chrono::seconds(10)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    TlsClient c(server_->port(), file("ca.crt"));
    reloaded = c.connected();
  }
  EXPECT_TRUE(reloaded);
  TlsClient c(server_->port(), file("ca.crt"));
  ASSERT_TRUE(c.connected());
  c.send("GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(c.receive("GET /after").find("200 OK"), std::string::npos);
}

// What an old or misconfigured client may offer: nothing but these suites, at most TLS 1.2,
// with OpenSSL's own security level out of the way so that the server alone decides.
std::function<void(SSL_CTX*)> offering(const char* ciphers, int maxVersion = TLS1_2_VERSION) {
  return [=](SSL_CTX* ctx) {
    SSL_CTX_set_security_level(ctx, 0);
    SSL_CTX_set_min_proto_version(ctx, 0);
    SSL_CTX_set_max_proto_version(ctx, maxVersion);
    ASSERT_EQ(SSL_CTX_set_cipher_list(ctx, ciphers), 1) << ciphers;
  };
}

TEST_F(HttpsServerTest, RefusesClientsOfferingOnlyCbcOrSha1Suites) {
  for (const char* suites :
       {"AES128-SHA", "AES256-SHA:AES128-SHA256:AES256-SHA256",
        "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA",
        "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384",
        "AES128-GCM-SHA256:AES256-GCM-SHA384"}) {
    TlsClient c(server_->port(), file("ca.crt"), offering(suites));
    EXPECT_FALSE(c.connected()) << suites << " was accepted: " << c.cipher();
  }
}

TEST_F(HttpsServerTest, RefusesTlsBelow12) {
  for (const int version : {TLS1_VERSION, TLS1_1_VERSION}) {
    TlsClient c(server_->port(), file("ca.crt"), offering("ALL:@SECLEVEL=0", version));
    EXPECT_FALSE(c.connected()) << "version " << std::hex << version;
  }
}

TEST_F(HttpsServerTest, ModernClientsGetTls13OrAnAeadSuiteOfTheirOwnPreference) {
  {
    TlsClient c(server_->port(), file("ca.crt"));
    ASSERT_TRUE(c.connected());
    EXPECT_EQ(c.version(), TLS1_3_VERSION);
    c.send("GET /modern HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_NE(c.receive("GET /modern").find("200 OK"), std::string::npos);
  }
  // TLS 1.2: the client's order decides among the server's suites (no server preference).
  for (const char* suites : {"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256",
                             "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305",
                             "ECDHE-ECDSA-AES256-GCM-SHA384:AES128-SHA"}) {
    TlsClient c(server_->port(), file("ca.crt"), offering(suites));
    ASSERT_TRUE(c.connected()) << suites;
    EXPECT_EQ(c.version(), TLS1_2_VERSION);
    const std::string first(suites, std::string_view(suites).find(':'));
    EXPECT_EQ(c.cipher(), first);
    c.send("GET /tls12 HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_NE(c.receive("GET /tls12").find("200 OK"), std::string::npos);
  }
}

TEST_F(HttpsServerTest, ShedsIdleConnectionsOldestFirstToAdmitNewOnesAtTheLimit) {
  restartWith([](ServerOptions& o) {
    o.maxConnections = 2;
    o.idleTimeout = std::chrono::seconds(30);
  });
  // A client that connects and never starts its handshake is idle from the start.
  const int silent = testing::connectLoopback(server_->port());
  ASSERT_GE(silent, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  TlsClient kept(server_->port(), file("ca.crt"));
  ASSERT_TRUE(kept.connected());
  const auto use = [](TlsClient& c, const std::string& path) {
    c.send("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n");
    const auto reply = c.receive("GET " + path);
    // The server marks the connection idle right after answering.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return reply.find("200 OK") != std::string::npos;
  };
  ASSERT_TRUE(use(kept, "/kept"));
  // Each newcomer is admitted at the limit by closing the connection idle the longest: the
  // silent one, then each previous newcomer in turn; never `kept`, used again each round.
  std::vector<std::unique_ptr<TlsClient>> newcomers;
  for (int i = 0; i < 3; ++i) {
    newcomers.push_back(std::make_unique<TlsClient>(server_->port(), file("ca.crt")));
    ASSERT_TRUE(newcomers.back()->connected()) << i;
    EXPECT_TRUE(use(*newcomers.back(), "/new" + std::to_string(i))) << i;
    EXPECT_TRUE(use(kept, "/kept")) << i;
  }
  bool closed = false;
  testing::receiveUntil([&](char* buf, std::size_t size) { return ::recv(silent, buf, size, 0); },
                        {}, 1, &closed);
  EXPECT_TRUE(closed);
  ::close(silent);
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(newcomers[i]->receive().empty());
    EXPECT_TRUE(newcomers[i]->closedByPeer()) << i;
  }
  EXPECT_TRUE(use(*newcomers[2], "/last"));
  EXPECT_EQ(server_->stats().connectionsShed.load(), 3);
  EXPECT_EQ(server_->stats().connectionsRefused.load(), 0);
  EXPECT_EQ(server_->stats().tlsHandshakeFailures.load(), 0);
}

}  // namespace
}  // namespace budgetgate::server
