#include "webhook/tls/certificate_bootstrap.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "operator/common/backoff.h"
#include "operator/common/json.h"
#include "webhook/tls/self_signed.h"

namespace budgetgate::tls {
namespace {

std::string base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> unbase64(const std::string& in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out(in.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  std::size_t pad = 0;
  if (!in.empty() && in.back() == '=') ++pad;
  if (in.size() > 1 && in[in.size() - 2] == '=') ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Write-then-rename so the server never reads half a file.
bool writeAtomically(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return false;
    out << content;
    if (!out) return false;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  return !ec;
}

}  // namespace

CertificateBootstrap::CertificateBootstrap(const kube::KubeConfig& config, BootstrapOptions options)
    : client_(config), options_(std::move(options)) {}

CertificateBootstrap::~CertificateBootstrap() {
  stop();
}

std::vector<std::string> CertificateBootstrap::dnsNames() const {
  const auto& s = options_.serviceName;
  const auto& ns = options_.ns;
  return {s, fmt::format("{}.{}", s, ns), fmt::format("{}.{}.svc", s, ns),
          fmt::format("{}.{}.svc.cluster.local", s, ns)};
}

std::string CertificateBootstrap::ensureSecret(std::string& caPem, std::string& certPem,
                                               std::string& keyPem) {
  const auto collection = kube::Resource{"", "v1", "secrets", true}.collectionPath(options_.ns);
  const auto path = collection + "/" + options_.secretName;
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto got = client_.get(path);
    std::string caKeyPem;
    json::Document secret;
    if (got.ok()) {
      std::string error;
      auto doc = json::parse(got.body, &error);
      if (!doc) return "Secret is not JSON: " + error;
      secret = std::move(*doc);
      const auto* data = json::member(&secret, "data");
      auto field = [&](const char* key) {
        return unbase64(json::stringOr(json::member(data, key))).value_or("");
      };
      caPem = field("ca.crt");
      caKeyPem = field("ca.key");
      certPem = field("tls.crt");
      keyPem = field("tls.key");
    } else if (!got.notFound()) {
      return "reading Secret: " + got.describe();
    }
    const auto now = nowSeconds();
    auto caInfo = inspect(caPem);
    bool newCa = !caInfo || caKeyPem.empty() || caInfo->notAfter - now < options_.servingValidity;
    KeyPair ca{caPem, caKeyPem};
    if (newCa) ca = generateCa("budgetgate-webhook-ca", options_.caValidity);
    auto info = inspect(certPem);
    const auto wanted = dnsNames();
    const bool renew = newCa || !info || info->dnsNames != wanted ||
                       !signedBy(certPem, ca.certPem) ||
                       static_cast<double>((info->notAfter - now).count()) <
                           options_.renewFraction *
                               static_cast<double>((info->notAfter - info->notBefore).count());
    if (!renew) return {};
    const auto serving = generateServing(ca, wanted[2], wanted, options_.servingValidity);
    rapidjson::Document body(rapidjson::kObjectType);
    auto& a = body.GetAllocator();
    if (got.ok()) {
      body.CopyFrom(secret, a);
    } else {
      body.AddMember("apiVersion", "v1", a);
      body.AddMember("kind", "Secret", a);
      rapidjson::Value meta(rapidjson::kObjectType);
      meta.AddMember("name", json::str(options_.secretName, a), a);
      meta.AddMember("namespace", json::str(options_.ns, a), a);
      body.AddMember("metadata", meta, a);
      body.AddMember("type", "kubernetes.io/tls", a);
    }
    if (body.HasMember("data")) body.RemoveMember("data");
    rapidjson::Value data(rapidjson::kObjectType);
    data.AddMember("ca.crt", json::str(base64(ca.certPem), a), a);
    data.AddMember("ca.key", json::str(base64(ca.keyPem), a), a);
    data.AddMember("tls.crt", json::str(base64(serving.certPem), a), a);
    data.AddMember("tls.key", json::str(base64(serving.keyPem), a), a);
    body.AddMember("data", data, a);
    // Create, or replace with the resourceVersion we read: if another replica got there first
    // the write fails with 409 and we adopt its certificate on the next attempt.
    auto put = got.ok() ? client_.replace(path, json::toString(body))
                        : client_.create(collection, json::toString(body));
    if (put.ok()) {
      caPem = ca.certPem;
      certPem = serving.certPem;
      keyPem = serving.keyPem;
      spdlog::info("webhook certificate {} in Secret {}/{} (valid until {})",
                   got.ok() ? "renewed" : "created", options_.ns, options_.secretName,
                   formatTime(inspect(certPem)->notAfter));
      return {};
    }
    if (!put.conflict() && put.status != 409) return "writing Secret: " + put.describe();
  }
  return "Secret kept changing under us";
}

std::string CertificateBootstrap::ensureFiles(const std::string& certPem,
                                              const std::string& keyPem) {
  if (readFile(options_.certFile) == certPem && readFile(options_.keyFile) == keyPem) return {};
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(options_.certFile).parent_path(), ec);
  // Key first: the server reloads when either changes and checks that they match.
  if (!writeAtomically(options_.keyFile, keyPem) || !writeAtomically(options_.certFile, certPem)) {
    return "cannot write " + options_.certFile;
  }
  return {};
}

std::string CertificateBootstrap::ensureCaBundle(const std::string& caPem) {
  if (options_.webhookName.empty()) {
    confirmed_ = true;
    return {};
  }
  const kube::Resource webhooks{"admissionregistration.k8s.io", "v1",
                                "validatingwebhookconfigurations", false};
  const auto path = webhooks.objectPath("", options_.webhookName);
  const auto bundle = base64(caPem);
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto got = client_.get(path);
    if (!got.ok()) return "reading ValidatingWebhookConfiguration: " + got.describe();
    std::string error;
    auto doc = json::parse(got.body, &error);
    if (!doc) return "ValidatingWebhookConfiguration is not JSON: " + error;
    auto& a = doc->GetAllocator();
    bool changed = false;
    if (auto it = doc->FindMember("webhooks"); it != doc->MemberEnd() && it->value.IsArray()) {
      for (auto& hook : it->value.GetArray()) {
        if (!hook.IsObject()) continue;
        if (!hook.HasMember("clientConfig") || !hook["clientConfig"].IsObject()) continue;
        auto& cc = hook["clientConfig"];
        if (json::stringOr(json::member(&cc, "caBundle")) == bundle) continue;
        if (cc.HasMember("caBundle")) cc.RemoveMember("caBundle");
        cc.AddMember("caBundle", json::str(bundle, a), a);
        changed = true;
      }
    }
    if (!changed) {
      if (!confirmed_.exchange(true)) {
        spdlog::info("caBundle of ValidatingWebhookConfiguration {} confirmed",
                     options_.webhookName);
      }
      return {};
    }
    auto put = client_.replace(path, json::toString(*doc));
    if (put.ok()) {
      spdlog::info("caBundle of ValidatingWebhookConfiguration {} updated", options_.webhookName);
      return {};
    }
    if (!put.conflict()) return "updating ValidatingWebhookConfiguration: " + put.describe();
  }
  return "ValidatingWebhookConfiguration kept changing under us";
}

std::string CertificateBootstrap::ensure() {
  std::string ca, cert, key;
  try {
    if (auto e = ensureSecret(ca, cert, key); !e.empty()) return e;
  } catch (const std::exception& ex) {
    return ex.what();
  }
  if (auto e = ensureFiles(cert, key); !e.empty()) return e;
  return ensureCaBundle(ca);
}

void CertificateBootstrap::startBackground() {
  thread_ = std::jthread([this](std::stop_token stop) {
    // Quick retries only for a while: a webhook configuration that never appears is retried
    // (and logged) every 10 s, as any other failure.
    const auto quickUntil = std::chrono::steady_clock::now() + std::chrono::minutes(2);
    while (!stop.stop_requested()) {
      const auto error = ensure();
      if (!error.empty()) spdlog::warn("webhook TLS bootstrap: {}", error);
      std::chrono::milliseconds wait = options_.checkEvery;
      if (!error.empty()) wait = std::chrono::seconds(10);
      if (!confirmed_ && std::chrono::steady_clock::now() < quickUntil)
        wait = options_.startupRetry;
      sleepFor(wait, stop);
    }
  });
}

void CertificateBootstrap::stop() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
}

}  // namespace budgetgate::tls
