#include "webhook/gate/pod_template.h"

#include <openssl/evp.h>

#include <array>

#include "operator/common/json.h"
#include "webhook/gate/pod_defaults.h"

namespace budgetgate::gate {
namespace {

std::string sha256Hex(const std::string& data) {
  // OpenSSL 3 looks an algorithm up by name on every implicit fetch (EVP_sha256()); fetch it
  // once. The handle is immutable and thread-safe to share.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &length,
             sha256 != nullptr ? sha256 : EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

}  // namespace

std::optional<std::string> templateFingerprint(const rapidjson::Value& podTemplate) {
  if (!podTemplate.IsObject()) return std::nullopt;
  // The hash label each controller adds to its ReplicaSets' templates (the deployment
  // controller's, Argo Rollouts') is not part of what the workload asked for.
  const auto* labels = json::path(&podTemplate, {"metadata", "labels"});
  if (labels == nullptr || !labels->IsObject() ||
      (!labels->HasMember("pod-template-hash") &&
       !labels->HasMember("rollouts-pod-template-hash"))) {
    return sha256Hex(json::canonical(podTemplate));
  }
  rapidjson::Document copy;
  copy.CopyFrom(podTemplate, copy.GetAllocator());
  copy["metadata"]["labels"].RemoveMember("pod-template-hash");
  copy["metadata"]["labels"].RemoveMember("rollouts-pod-template-hash");
  if (copy["metadata"]["labels"].ObjectEmpty()) copy["metadata"].RemoveMember("labels");
  return sha256Hex(json::canonical(copy));
}

std::optional<std::string> templateFingerprintWithoutDefaults(const rapidjson::Value& podTemplate) {
  if (!podTemplate.IsObject()) return std::nullopt;
  rapidjson::Document copy;
  copy.CopyFrom(podTemplate, copy.GetAllocator());
  removePodDefaults(copy);
  return templateFingerprint(copy);
}

std::vector<std::string> templateImages(const rapidjson::Value& podTemplate) {
  std::vector<std::string> out;
  for (const char* list : {"initContainers", "containers", "ephemeralContainers"}) {
    const auto* containers = json::path(&podTemplate, {"spec", list});
    if (containers == nullptr || !containers->IsArray()) continue;
    for (const auto& c : containers->GetArray()) {
      const auto* image = json::member(&c, "image");
      if (image != nullptr && image->IsString()) out.emplace_back(image->GetString());
    }
  }
  return out;
}

}  // namespace budgetgate::gate
