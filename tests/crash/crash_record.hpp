#pragma once

// What the crash writer stores and the crash test checks: a record whose payload can be
// regenerated from its id and whose digest proves the stored payload is whole.

#include <cstdint>
#include <string>
#include <vector>

#include "ulus/crypto/digest.hpp"
#include "ulus/crypto/encoding.hpp"
#include "ulus/store/migration.hpp"

namespace ulus::crash {

inline const std::vector<store::Migration>& CrashMigrations() {
  static const std::vector<store::Migration> steps = {
      {.version = 1,
       .name = "crash record",
       .sql = "CREATE TABLE crash_record (id BIGINT PRIMARY KEY, payload TEXT NOT NULL,"
              " digest TEXT NOT NULL)",
       .postgres = {}},
  };
  return steps;
}

// A few kilobytes derived from `id`, different for every id, so a torn or mixed-up write shows.
inline std::string PayloadFor(int64_t id) {
  constexpr size_t kMinSize = 2048;
  constexpr size_t kSpread = 4096;
  uint64_t state = static_cast<uint64_t>(id) * 0x9E3779B97F4A7C15ULL + 1;
  const size_t size = kMinSize + static_cast<size_t>(state % kSpread);
  std::string payload;
  payload.reserve(size);
  while (payload.size() < size) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    payload.push_back(static_cast<char>('a' + state % 26));
  }
  return payload;
}

inline std::string DigestOf(const std::string& payload) {
  return crypto::HexEncode(crypto::Sha256(payload));
}

inline constexpr const char* kEventTopic = "crash.record";

}  // namespace ulus::crash
