#include "webhook/admission/json_parser_pool.h"

#include <simdjson.h>

namespace budgetgate::admission {

void JsonParserPool::ParserDeleter::operator()(simdjson::dom::parser* p) const {
  std::default_delete<simdjson::dom::parser>()(p);
}

JsonParserPool::Lease::~Lease() {
  if (pool_ != nullptr && parser_ != nullptr) pool_->release(std::move(parser_));
}

JsonParserPool::Lease JsonParserPool::acquire() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      ParserPtr parser = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(parser));
    }
  }
  return Lease(this, ParserPtr(std::make_unique<simdjson::dom::parser>().release()));
}

void JsonParserPool::release(ParserPtr parser) {
  if (parser->capacity() > kMaxRetainedCapacity) return;  // freed here, outside the lock
  std::lock_guard lock(mu_);
  idle_.push_back(std::move(parser));
}

std::size_t JsonParserPool::idle() const {
  std::lock_guard lock(mu_);
  return idle_.size();
}

}  // namespace budgetgate::admission
