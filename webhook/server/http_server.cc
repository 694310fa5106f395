#include "webhook/server/http_server.h"

// clang-format off
#include <utility>  // first: boost 1.74 awaitable.hpp uses std::exchange without including it
// clang-format on

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <csignal>

#include "webhook/server/connection_limits.h"
#include "webhook/server/socket_streams.h"

namespace budgetgate::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using io::ErrorCode;
using io::Executor;
using io::Socket;
using io::Task;
using io::use_awaitable;
using Acceptor = asio::basic_socket_acceptor<tcp, Executor>;
using Timer = asio::basic_waitable_timer<std::chrono::steady_clock,
                                         asio::wait_traits<std::chrono::steady_clock>, Executor>;
using RequestParser = http::request_parser<http::string_body>;
using Slot = ConnectionLimiter::Slot;

constexpr std::size_t kReadSize = 16 * 1024;  // a TLS record
// From accept to the end of the TLS handshake.
constexpr std::chrono::seconds kHandshakeTimeout{10};
// For sending close_notify.
constexpr std::chrono::seconds kShutdownTimeout{2};
// After an early answer (413, 503, 400): how long, and how much, of what the client is still
// sending is read and dropped before closing.
constexpr std::chrono::seconds kLingerTime{2};
constexpr std::size_t kLingerMaxBytes = 4 * 1024 * 1024;
// accept() failing for want of descriptors or memory: first pause, doubling up to the longest.
constexpr std::chrono::milliseconds kAcceptBackoffMin{50};
constexpr std::chrono::milliseconds kAcceptBackoffMax{1000};
// ...and after closing an idle connection to free a descriptor: time for its thread to close it.
constexpr std::chrono::milliseconds kAcceptRetryAfterShed{10};

// The connection limit in force: the configured one, kept below the descriptors the process
// may open (each connection holds one) minus those it needs for everything else.
std::size_t effectiveMaxConnections(const ServerOptions& options) {
  std::size_t limit = std::max<std::size_t>(1, options.maxConnections);
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY) {
    const auto available = static_cast<std::size_t>(files.rlim_cur);
    const std::size_t room = available > options.reservedFileDescriptors + 1
                                 ? available - options.reservedFileDescriptors
                                 : 1;
    limit = std::min(limit, room);
  }
  return limit;
}

bool outOfResources(const ErrorCode& ec) {
  return ec == asio::error::no_descriptors ||                         // EMFILE
         ec == boost::system::errc::too_many_files_open_in_system ||  // ENFILE
         ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
}

HttpResponse plain(int status, std::string body) {
  return {status, "text/plain; charset=utf-8", std::move(body)};
}

// The whole response in one buffer: one TLS record and one write for the small answers a
// webhook gives.
std::string serialize(const HttpResponse& response, bool keepAlive) {
  const auto status = static_cast<http::status>(response.status);
  std::string out;
  out.reserve(160 + response.contentType.size() + response.body.size());
  out.append("HTTP/1.1 ").append(std::to_string(response.status)).append(" ");
  const auto reason = http::obsolete_reason(status);
  out.append(reason.data(), reason.size());
  out.append("\r\nServer: budgetgate\r\nContent-Type: ").append(response.contentType);
  for (const auto& [name, value] : response.headers) {
    if ((name + value).find_first_of("\r\n") != std::string::npos) continue;
    out.append("\r\n").append(name).append(": ").append(value);
  }
  out.append("\r\nContent-Length: ").append(std::to_string(response.body.size()));
  out.append(keepAlive ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n");
  out.append(response.body);
  return out;
}

// Reads one request into `parser`, keeping bytes that arrive beyond it (a pipelined next
// request) in `buffer`. end_of_stream when the peer closed before sending anything. Returns
// early, with reservation.refused(), when the body does not fit in the in-flight budget.
template <typename Stream>
Task<> readRequest(Stream& stream, beast::flat_buffer& buffer, RequestParser& parser,
                   BodyReservation& reservation, ErrorCode& ec) {
  // The parser stops after the header (not eager) so that the body is reserved before Beast
  // allocates it: string_body reserves the whole Content-Length at once.
  parser.eager(false);
  bool bodyReserved = false;
  for (;;) {
    if (buffer.size() > 0) {
      const std::size_t used = parser.put(buffer.data(), ec);
      buffer.consume(used);
      if (ec == http::error::need_more) {
        ec = {};
      } else if (ec || parser.is_done()) {
        co_return;
      } else {
        if (!bodyReserved && parser.is_header_done()) {
          bodyReserved = true;
          const auto length = parser.content_length();
          if (length && !reservation.growTo(static_cast<std::size_t>(*length))) co_return;
          parser.eager(true);
        } else if (parser.chunked() && !reservation.growTo(parser.get().body().capacity())) {
          // A chunked body is reserved as it grows, by what the string has allocated.
          co_return;
        }
        if (used > 0 && buffer.size() > 0) continue;
      }
    }
    auto space = buffer.prepare(kReadSize);
    const std::size_t n =
        co_await stream.readSome(static_cast<char*>(space.data()), space.size(), ec);
    if (ec == asio::error::eof) {
      ec = {};
      if (!parser.got_some()) {
        ec = http::error::end_of_stream;
      } else {
        parser.put_eof(ec);
      }
      co_return;
    }
    if (ec) co_return;
    buffer.commit(n);
  }
}

}  // namespace

class HttpServer::Impl {
 public:
  // One single-threaded io_context per I/O thread, each connection pinned to one of them:
  // no strands and no cross-thread hand-offs on the request path (measured: a shared
  // io_context with a strand per connection spent a fifth of its time in executor plumbing
  // and context switches).
  Impl(ServerOptions options, Handler handler)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        limiter_(effectiveMaxConnections(options_), stats_),
        budget_(options_.maxInflightBodyBytes, options_.largeBodyBytes, stats_.inflightBodyBytes),
        contexts_(makeContexts(std::max<std::size_t>(1, options_.threads))),
        acceptor_(*contexts_.front()),
        acceptTimer_(*contexts_.front()),
        certTimer_(*contexts_.front()) {}

  static std::vector<std::unique_ptr<asio::io_context>> makeContexts(std::size_t n) {
    std::vector<std::unique_ptr<asio::io_context>> out;
    for (std::size_t i = 0; i < n; ++i) out.push_back(std::make_unique<asio::io_context>(1));
    return out;
  }

  void start() {
    // OpenSSL writes to the socket with write(), which raises SIGPIPE when the client has gone;
    // its default action would end the process.
    std::signal(SIGPIPE, SIG_IGN);
    tcp::endpoint endpoint(asio::ip::make_address(options_.address), options_.port);
    ErrorCode ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      throw std::runtime_error("listening on " + options_.address + ":" +
                               std::to_string(options_.port) + ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    if (limiter_.maxConnections() < options_.maxConnections) {
      spdlog::warn(
          "port {}: at most {} connections (not {}): RLIMIT_NOFILE leaves no room for more "
          "beside {} descriptors kept for the rest of the process",
          port_, limiter_.maxConnections(), options_.maxConnections,
          options_.reservedFileDescriptors);
    }
    auto& first = *contexts_.front();
    asio::co_spawn(first, accept(), asio::detached);
    if (options_.certificates) asio::co_spawn(first, watchCertificates(), asio::detached);
    for (auto& io : contexts_) {
      workGuards_.push_back(asio::make_work_guard(*io));
      threads_.emplace_back([&io = *io] { io.run(); });
    }
  }

  void beginDrain() { draining_ = true; }

  void drainAndStop(std::chrono::milliseconds timeout) {
    if (stopped_.load()) return;
    draining_ = true;
    asio::post(*contexts_.front(), [this] {
      ErrorCode ignored;
      acceptor_.close(ignored);
      acceptTimer_.cancel();
    });
    while (limiter_.shedOldestIdle()) {
    }
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (stats_.openConnections.load() > 0 && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (const auto left = stats_.openConnections.load(); left > 0) {
      spdlog::warn("port {}: {} connection(s) still open after draining for {} ms", port_, left,
                   timeout.count());
    }
    stop();
  }

  void stop() {
    if (stopped_.exchange(true)) return;
    asio::post(*contexts_.front(), [this] {
      ErrorCode ignored;
      acceptor_.close(ignored);
      acceptTimer_.cancel();
      certTimer_.cancel();
    });
    workGuards_.clear();
    for (auto& io : contexts_) io->stop();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  Task<> accept() {
    auto backoff = kAcceptBackoffMin;
    long long failuresInARow = 0;
    for (std::size_t next = 0;; ++next) {
      ErrorCode ec;
      auto& io = *contexts_[next % contexts_.size()];  // round-robin over the I/O threads
      auto socket = co_await acceptor_.async_accept(io.get_executor(),
                                                    asio::redirect_error(use_awaitable, ec));
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
        // The connection stays queued and the listening socket readable: retrying at once
        // would spin on the same error. Out of descriptors, make room by closing the
        // connection idle the longest; with nothing to close, pause longer each time.
        ++stats_.acceptErrors;
        const bool madeRoom = outOfResources(ec) && limiter_.shedOldestIdle();
        if (failuresInARow++ == 0) {
          spdlog::warn("port {}: accept failed: {} ({} connections open); {}", port_, ec.message(),
                       stats_.openConnections.load(),
                       madeRoom ? "closed the connection idle the longest"
                                : "no idle connection to close, pausing accept");
        }
        acceptTimer_.expires_after(madeRoom ? kAcceptRetryAfterShed : backoff);
        if (!madeRoom) backoff = std::min(backoff * 2, kAcceptBackoffMax);
        ErrorCode waited;
        co_await acceptTimer_.async_wait(asio::redirect_error(use_awaitable, waited));
        if (waited) co_return;
        continue;
      }
      if (failuresInARow > 0) {
        spdlog::info("port {}: accepting again after {} failed attempts", port_, failuresInARow);
      }
      failuresInARow = 0;
      backoff = kAcceptBackoffMin;
      auto slot = limiter_.admit();
      if (!slot) {
        // At the limit with every connection in the middle of a request: the newcomer is
        // closed at once rather than kept waiting.
        ErrorCode ignored;
        socket.close(ignored);
        continue;
      }
      ++stats_.connections;
      socket.set_option(tcp::no_delay(true));
      if (options_.certificates) {
        auto ctx = options_.certificates->current();
        asio::co_spawn(socket.get_executor(),
                       tlsSession(std::move(socket), std::move(ctx), std::move(slot)),
                       asio::detached);
      } else {
        asio::co_spawn(socket.get_executor(), plainSession(std::move(socket), std::move(slot)),
                       asio::detached);
      }
    }
  }

  Task<> watchCertificates() {
    for (;;) {
      certTimer_.expires_after(options_.certificateCheckInterval);
      ErrorCode ec;
      co_await certTimer_.async_wait(asio::redirect_error(use_awaitable, ec));
      if (ec) co_return;
      options_.certificates->reloadIfChanged();
    }
  }

  // A connection, its place among the open connections, and its deadline. One timer per
  // connection, re-armed only when it fires: moving the deadline is a plain store. (Beast's
  // per-operation timeouts re-arm a timer on every read and write, which showed up as a
  // timerfd update per request.) The timer fires at least every `wakeInterval` (the request
  // timeout), so that a request's deadline is never earlier than the timer and starting a
  // request needs no re-arming. The session and its watchdog run on the same single-threaded
  // io_context, so no locking is needed.
  template <typename Stream>
  struct Connection {
    template <typename... Args>
    Connection(Executor ex, std::unique_ptr<Slot> place, std::chrono::steady_clock::duration wake,
               Args&&... args)
        : slot(std::move(place)),
          stream(std::forward<Args>(args)...),
          timer(std::move(ex)),
          wakeInterval(wake) {}
    // First member, so destroyed last: the place is given up once the socket is closed.
    std::unique_ptr<Slot> slot;
    Stream stream;
    Timer timer;
    std::chrono::steady_clock::duration wakeInterval;
    std::chrono::steady_clock::time_point deadline{};
    std::chrono::steady_clock::time_point armedFor = std::chrono::steady_clock::time_point::max();
    bool done = false;
    bool expired = false;      // the deadline closed the socket
    bool shed = false;         // closed to make room for another connection
    bool unreadInput = false;  // answered before the whole request was read

    bool closedByServer() const { return expired || shed; }
    void extend(std::chrono::steady_clock::duration d) {
      deadline = std::chrono::steady_clock::now() + d;
      // A later deadline waits for the timer to fire; an earlier one (the shutdown and linger
      // allowances) wakes the watchdog to re-arm now.
      if (deadline < armedFor) timer.cancel();
    }
    void finish() {
      done = true;
      timer.cancel();
    }
    void closeForShedding() {
      shed = true;
      ErrorCode ignored;
      stream.socket().close(ignored);  // fails the pending wait
    }
  };

  template <typename Conn>
  static Task<> watchdog(std::shared_ptr<Conn> c) {
    while (!c->done) {
      c->armedFor = std::min(c->deadline, std::chrono::steady_clock::now() + c->wakeInterval);
      c->timer.expires_at(c->armedFor);
      ErrorCode ec;
      co_await c->timer.async_wait(asio::redirect_error(use_awaitable, ec));
      if (c->done) co_return;
      if (std::chrono::steady_clock::now() >= c->deadline) {
        c->expired = true;
        ErrorCode ignored;
        c->stream.socket().close(ignored);  // fails the pending wait
        co_return;
      }
    }
  }

  // Shedding is decided on any thread (the accepting one); the close runs on the
  // connection's own, and not at all once the connection is gone.
  template <typename Conn>
  static void armShedding(const std::shared_ptr<Conn>& c) {
    c->slot->onShed([weak = std::weak_ptr<Conn>(c), ex = c->timer.get_executor()] {
      asio::post(ex, [weak] {
        if (auto conn = weak.lock()) conn->closeForShedding();
      });
    });
  }

  // Waits, as a connection that may be shed meanwhile, until the client sends something.
  template <typename Conn>
  static Task<> idleUntilFirstByte(Conn& c, ErrorCode& ec) {
    if (!c.slot->idle()) {
      ec = asio::error::operation_aborted;
      co_return;
    }
    co_await io::waitForBytes(c.stream.socket(), ec);
    if (!c.slot->busy() && !ec) ec = asio::error::operation_aborted;
  }

  std::chrono::steady_clock::duration wakeInterval() const {
    return std::max<std::chrono::steady_clock::duration>(options_.requestTimeout,
                                                         std::chrono::seconds(1));
  }

  Task<> tlsSession(Socket socket, std::shared_ptr<asio::ssl::context> ctx,
                    std::unique_ptr<Slot> slot) {
    using Conn = Connection<io::TlsStream>;
    auto ex = socket.get_executor();
    auto c = std::make_shared<Conn>(ex, std::move(slot), wakeInterval(), std::move(socket),
                                    std::move(ctx));
    armShedding(c);
    c->extend(kHandshakeTimeout);
    asio::co_spawn(ex, watchdog(c), asio::detached);
    ErrorCode ec;
    // Until its first byte a new connection is as idle as a kept-alive one: a client that
    // connects and says nothing may be closed to make room.
    co_await idleUntilFirstByte(*c, ec);
    if (ec) {
      c->finish();
      co_return;
    }
    co_await c->stream.handshake(ec);
    if (ec) {
      ++stats_.tlsHandshakeFailures;
      c->finish();
      co_return;
    }
    co_await serve(*c);
    if (!c->closedByServer()) {
      c->extend(kShutdownTimeout);
      co_await c->stream.shutdown(ec);
      if (c->unreadInput && !c->closedByServer()) co_await linger(*c);
    }
    c->finish();
  }

  Task<> plainSession(Socket socket, std::unique_ptr<Slot> slot) {
    using Conn = Connection<io::PlainStream>;
    auto ex = socket.get_executor();
    auto c = std::make_shared<Conn>(ex, std::move(slot), wakeInterval(), std::move(socket));
    armShedding(c);
    c->extend(options_.idleTimeout);
    asio::co_spawn(ex, watchdog(c), asio::detached);
    co_await serve(*c);
    if (!c->closedByServer()) {
      ErrorCode ignored;
      co_await c->stream.shutdown(ignored);
      if (c->unreadInput) co_await linger(*c);
    }
    c->finish();
  }

  // After an early answer the client may still be sending its request; closing with unread
  // bytes makes the kernel send a reset, which can destroy the answer before the client has
  // read it. So: half-close, then read and drop what still comes, briefly. The connection
  // holds nothing of value meanwhile and may be shed.
  template <typename Conn>
  static Task<> linger(Conn& c) {
    c.extend(kLingerTime);
    auto& socket = c.stream.socket();
    ErrorCode ec;
    socket.shutdown(asio::socket_base::shutdown_send, ec);
    if (!c.slot->idle()) co_return;
    std::array<char, 4096> scratch{};
    for (std::size_t drained = 0; drained < kLingerMaxBytes;) {
      const std::size_t n = socket.read_some(asio::buffer(scratch), ec);
      if (ec == asio::error::would_block) {
        co_await io::waitFor(socket, asio::socket_base::wait_read, ec);
        if (ec) co_return;
        continue;
      }
      if (ec) co_return;
      drained += n;
    }
  }

  // Returns when the next request has begun (its first bytes are in `buffer` or on their way
  // through the stream). While there is nothing to read the connection is idle: it gives back
  // its read buffer (OpenSSL's go by SSL_MODE_RELEASE_BUFFERS), may be shed, and is closed
  // after the idle timeout.
  template <typename Conn>
  Task<> awaitRequest(Conn& conn, beast::flat_buffer& buffer, ErrorCode& ec) {
    if (buffer.size() > 0) co_return;  // a pipelined request
    bool idle = false;
    for (;;) {
      auto space = buffer.prepare(kReadSize);
      const std::size_t n =
          conn.stream.readAvailable(static_cast<char*>(space.data()), space.size(), ec);
      if (!ec) {
        buffer.commit(n);
        break;
      }
      if (ec != asio::error::would_block) co_return;  // the peer closed or failed
      ec = {};
      if (conn.stream.hasPartialInput()) break;  // part of a TLS record: the request has begun
      buffer.shrink_to_fit();                    // empty: frees it
      if (!idle) {
        idle = true;
        conn.extend(options_.idleTimeout);
        if (!conn.slot->idle()) {
          ec = asio::error::operation_aborted;
          co_return;
        }
      }
      // Readiness may be stale (epoll is edge-triggered: an event can announce bytes that were
      // read since), so it is only a cue to read again.
      co_await conn.stream.waitForInput(ec);
      if (ec) co_return;
    }
    if (idle && !conn.slot->busy()) ec = asio::error::operation_aborted;
  }

  template <typename Conn>
  Task<> serve(Conn& conn) {
    beast::flat_buffer buffer;
    for (;;) {
      ErrorCode ec;
      co_await awaitRequest(conn, buffer, ec);
      if (ec) co_return;  // the peer closed, the connection was shed or idle for too long
      // The request has begun: all of it must arrive within the request timeout, however
      // slowly its bytes trickle in.
      conn.extend(options_.requestTimeout);
      HttpResponse response;
      bool keepAlive = false;
      {
        RequestParser parser;
        parser.body_limit(options_.maxBodyBytes);
        parser.header_limit(16 * 1024);
        BodyReservation reservation(budget_);
        co_await readRequest(conn.stream, buffer, parser, reservation, ec);
        if (conn.closedByServer()) {
          if (conn.expired) ++stats_.requestTimeouts;
          co_return;
        }
        if (ec == http::error::end_of_stream || ec == asio::ssl::error::stream_truncated) {
          co_return;
        }
        if (reservation.refused()) {
          ++stats_.rejectedOverloaded;
          conn.unreadInput = true;
          response = plain(503, "too many request bytes in flight, retry shortly\n");
        } else if (ec == http::error::body_limit) {
          ++stats_.rejectedTooLarge;
          conn.unreadInput = true;
          response = plain(413, "request body larger than " +
                                    std::to_string(options_.maxBodyBytes) + " bytes\n");
        } else if (ec) {
          if (ec == asio::error::operation_aborted || ec == asio::error::connection_reset) {
            co_return;
          }
          ++stats_.malformed;
          conn.unreadInput = true;
          response = plain(400, "malformed HTTP request: " + ec.message() + "\n");
        } else {
          ++stats_.requests;
          auto& msg = parser.get();
          keepAlive = msg.keep_alive();
          HttpRequest request;
          request.method = std::string(msg.method_string());
          request.target = std::string(msg.target());
          request.contentType = std::string(msg[http::field::content_type]);
          request.authorization = std::string(msg[http::field::authorization]);
          request.body = std::move(msg.body());
          try {
            response = handler_(request);
          } catch (const std::exception& e) {
            spdlog::error("handler failed for {} {}: {}", request.method, request.target, e.what());
            response = plain(500, "internal error\n");
          }
        }
      }  // the body is freed and its reservation released here
      conn.extend(options_.requestTimeout);
      // Draining: the client is to take its next request elsewhere.
      if (draining_.load(std::memory_order_relaxed)) keepAlive = false;
      ErrorCode wec;
      co_await conn.stream.writeAll(serialize(response, keepAlive), wec);
      if (wec || !keepAlive) co_return;
    }
  }

  ServerOptions options_;
  Handler handler_;
  ServerStats stats_;
  ConnectionLimiter limiter_;
  BodyBudget budget_;
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> workGuards_;
  Acceptor acceptor_;
  Timer acceptTimer_;
  Timer certTimer_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopped_{false};
  std::atomic<bool> draining_{false};
  unsigned short port_ = 0;
};

HttpServer::HttpServer(ServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::start() {
  impl_->start();
}
void HttpServer::stop() {
  impl_->stop();
}
void HttpServer::beginDrain() {
  impl_->beginDrain();
}
void HttpServer::drainAndStop(std::chrono::milliseconds timeout) {
  impl_->drainAndStop(timeout);
}
unsigned short HttpServer::port() const {
  return impl_->port_;
}
std::size_t HttpServer::maxConnections() const {
  return impl_->limiter_.maxConnections();
}
const ServerStats& HttpServer::stats() const {
  return impl_->stats_;
}

}  // namespace budgetgate::server
