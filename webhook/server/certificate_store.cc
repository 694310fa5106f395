#include "webhook/server/certificate_store.h"

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <stdexcept>

namespace budgetgate::server {
namespace {

namespace ssl = boost::asio::ssl;

// Mozilla's "intermediate" profile (server-side TLS guidelines, v5.7): TLS 1.2 and 1.3; for
// TLS 1.2 only forward-secret AEAD suites; TLS 1.3's suites are OpenSSL's defaults (all AEAD).
// Mozilla's DHE-RSA suites are left out: no DH parameters are configured, and every client of
// a webhook (the API server, Go's TLS stack) offers ECDHE.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* kGroups = "X25519:prime256v1:secp384r1";
// Sessions kept for resumption: bounded, since any client can make the server add one.
constexpr long kSessionCacheSize = 1024;

// The protocol profile and per-connection memory behaviour of the serving context.
void applyTlsProfile(SSL_CTX* ctx) {
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1 ||
      SSL_CTX_set1_groups_list(ctx, kGroups) != 1) {
    throw std::runtime_error("OpenSSL rejected the TLS profile (ciphers or groups)");
  }
  // As in Mozilla's intermediate profile: every suite offered is strong, so the client may
  // pick the one that is fastest for it (ChaCha20 without AES hardware).
  SSL_CTX_clear_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Renegotiation is a way to make the server do handshakes without new connections.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  // Free a connection's read and write buffers (~17 KiB each) whenever they are empty: an idle
  // keep-alive connection then holds only its SSL state.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_sess_set_cache_size(ctx, kSessionCacheSize);
}

std::optional<long long> readNotAfter(const std::string& certFile) {
  std::FILE* f = std::fopen(certFile.c_str(), "r");
  if (f == nullptr) return std::nullopt;
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (cert == nullptr) return std::nullopt;
  std::optional<long long> result;
  struct tm tm {};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1) result = timegm(&tm);
  X509_free(cert);
  return result;
}

}  // namespace

CertificateStore::CertificateStore(std::string certFile, std::string keyFile)
    : certFile_(std::move(certFile)), keyFile_(std::move(keyFile)) {
  loaded_ = stamp();
  context_ = build(&notAfter_);  // throws on failure
}

std::optional<CertificateStore::Stamp> CertificateStore::stamp() const {
  std::error_code e1, e2, e3, e4;
  Stamp s;
  s.certTime = std::filesystem::last_write_time(certFile_, e1);
  s.keyTime = std::filesystem::last_write_time(keyFile_, e2);
  s.certSize = std::filesystem::file_size(certFile_, e3);
  s.keySize = std::filesystem::file_size(keyFile_, e4);
  if (e1 || e2 || e3 || e4) return std::nullopt;
  return s;
}

std::shared_ptr<ssl::context> CertificateStore::build(std::optional<long long>* notAfter) const {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(certFile_, ec);
  if (ec) throw std::runtime_error("loading certificate " + certFile_ + ": " + ec.message());
  ctx->use_private_key_file(keyFile_, ssl::context::pem, ec);
  if (ec) throw std::runtime_error("loading key " + keyFile_ + ": " + ec.message());
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    throw std::runtime_error("certificate " + certFile_ + " does not match key " + keyFile_);
  }
  applyTlsProfile(ctx->native_handle());
  // Session resumption keeps reconnects from the API server cheap.
  SSL_CTX_set_session_cache_mode(ctx->native_handle(), SSL_SESS_CACHE_SERVER);
  *notAfter = readNotAfter(certFile_);
  return ctx;
}

std::shared_ptr<ssl::context> CertificateStore::current() const {
  std::lock_guard lock(mutex_);
  return context_;
}

bool CertificateStore::reloadIfChanged() {
  const auto now = stamp();
  {
    std::lock_guard lock(mutex_);
    if (!now || now == loaded_) return false;
  }
  try {
    std::optional<long long> notAfter;
    auto ctx = build(&notAfter);
    std::lock_guard lock(mutex_);
    context_ = std::move(ctx);
    loaded_ = now;
    notAfter_ = notAfter;
    ++reloads_;
    spdlog::info("serving certificate reloaded from {}", certFile_);
    return true;
  } catch (const std::exception& e) {
    // Often a half-written pair (cert updated, key not yet): keep serving the old one and
    // try again on the next check.
    spdlog::warn("serving certificate not reloaded: {}", e.what());
    return false;
  }
}

std::optional<long long> CertificateStore::notAfter() const {
  std::lock_guard lock(mutex_);
  return notAfter_;
}

long long CertificateStore::reloads() const {
  std::lock_guard lock(mutex_);
  return reloads_;
}

}  // namespace budgetgate::server
