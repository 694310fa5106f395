#pragma once
// "namespace/name": the one spelling of a namespaced object's key in caches, maps, metrics and
// messages (as client-go's MetaNamespaceKeyFunc), instead of concatenations scattered around.

#include <string>
#include <string_view>

namespace budgetgate {

inline std::string objectKey(std::string_view ns, std::string_view name) {
  std::string key;
  key.reserve(ns.size() + 1 + name.size());
  key.append(ns);
  key.push_back('/');
  key.append(name);
  return key;
}

// "kind/namespace/name", for caches holding several kinds.
inline std::string objectKey(std::string_view kind, std::string_view ns, std::string_view name) {
  std::string key;
  key.reserve(kind.size() + 2 + ns.size() + name.size());
  key.append(kind);
  key.push_back('/');
  key.append(ns);
  key.push_back('/');
  key.append(name);
  return key;
}

}  // namespace budgetgate
