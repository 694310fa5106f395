#include "webhook/server/certificate_store.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <stdexcept>

namespace budgetgate::server {
namespace {

namespace ssl = boost::asio::ssl;

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
