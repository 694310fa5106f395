#include "operator/common/sha256.h"

#include <openssl/evp.h>

#include <array>

namespace budgetgate {

std::string sha256Hex(std::string_view data) {
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

}  // namespace budgetgate
