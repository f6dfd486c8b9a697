#pragma once

#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace ulus::store {

// A small least-recently-used map from SQL text to a prepared statement. Not thread-safe: each
// connection owns one.
template <typename V>
class LruCache {
 public:
  explicit LruCache(size_t capacity) : capacity_(capacity) {}

  // The cached value for `key`, now the most recently used, or nullptr.
  V* Find(std::string_view key) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);
    return &it->second->second;
  }

  // Adds `value` (the key must be absent) and returns the least recently used value if the cache
  // overflowed, so the caller can release it.
  std::optional<V> Insert(std::string key, V value) {
    order_.emplace_front(std::move(key), std::move(value));
    // The key's characters live in the list node, which never moves, so the index can view them.
    index_.emplace(order_.front().first, order_.begin());
    if (order_.size() <= capacity_) return std::nullopt;
    std::optional<V> evicted(std::move(order_.back().second));
    index_.erase(order_.back().first);
    order_.pop_back();
    return evicted;
  }

  std::optional<V> Erase(std::string_view key) {
    auto it = index_.find(key);
    if (it == index_.end()) return std::nullopt;
    std::optional<V> erased(std::move(it->second->second));
    auto node = it->second;
    index_.erase(it);
    order_.erase(node);
    return erased;
  }

  [[nodiscard]] size_t size() const { return order_.size(); }
  void Clear() {
    index_.clear();
    order_.clear();
  }

 private:
  using Entry = std::pair<std::string, V>;
  size_t capacity_;
  std::list<Entry> order_;
  std::unordered_map<std::string_view, typename std::list<Entry>::iterator> index_;
};

}  // namespace ulus::store
