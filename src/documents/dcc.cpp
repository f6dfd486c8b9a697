#include "ulus/documents/dcc.hpp"

#define ZLIB_CONST
#include <cbor.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <zlib.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <set>

#include "ulus/crypto/digest.hpp"
#include "ulus/documents/base45.hpp"
#include "utf8.hpp"

namespace ulus::documents {

using nlohmann::json;

namespace {

constexpr std::string_view kPrefix = "HC1:";
// A QR code holds at most 4,296 alphanumeric characters; the bound is far above that and keeps a
// hostile HTTP body from costing more than this much memory, even inside the zlib layer.
constexpr size_t kMaxCoseBytes = size_t{64} * 1024;
constexpr size_t kMaxHc1Chars = kPrefix.size() + (kMaxCoseBytes + 1) / 2 * 3;
// Deeper than any hcert needs (the vaccination entries sit six levels down); it bounds the
// recursion here and in libcbor's own freeing of items.
constexpr int kMaxCborDepth = 24;

constexpr uint64_t kCoseSign1Tag = 18;
constexpr size_t kCoseSign1Items = 4;
constexpr int64_t kAlgEs256 = -7;
constexpr int64_t kHeaderAlg = 1;
constexpr int64_t kHeaderCrit = 2;
constexpr int64_t kHeaderKid = 4;
constexpr int64_t kClaimIss = 1;
constexpr int64_t kClaimExp = 4;
constexpr int64_t kClaimIat = 6;
constexpr int64_t kClaimHcert = -260;
constexpr int64_t kHcertEuDcc = 1;
constexpr size_t kEs256SignatureBytes = 64;
constexpr size_t kDccKeyIdBytes = 8;
constexpr std::string_view kSigStructureContext = "Signature1";

Error Malformed(std::string_view layer, std::string_view what) {
  return Error::InvalidArgument(
      "the HC1 code is invalid: " + std::string(layer) + ": " + std::string(what), "hc1");
}

std::optional<TimePoint> FromEpochSeconds(int64_t seconds) {
  constexpr int64_t kLatest =
      std::chrono::floor<std::chrono::seconds>(TimePoint::max()).time_since_epoch().count();
  constexpr int64_t kEarliest =
      std::chrono::ceil<std::chrono::seconds>(TimePoint::min()).time_since_epoch().count();
  if (seconds < kEarliest || seconds > kLatest) return std::nullopt;
  return TimePoint(std::chrono::seconds(seconds));
}

struct CborDeleter {
  void operator()(cbor_item_t* item) const { cbor_decref(&item); }
};
using CborPtr = std::unique_ptr<cbor_item_t, CborDeleter>;

// libcbor answers a failed allocation with NULL; treat it as C++ containers do.
CborPtr Own(cbor_item_t* item) {
  if (item == nullptr) throw std::bad_alloc();
  return CborPtr(item);
}

CborPtr Uint(uint64_t v) {
  if (v <= std::numeric_limits<uint8_t>::max())
    return Own(cbor_build_uint8(static_cast<uint8_t>(v)));
  if (v <= std::numeric_limits<uint16_t>::max()) {
    return Own(cbor_build_uint16(static_cast<uint16_t>(v)));
  }
  if (v <= std::numeric_limits<uint32_t>::max()) {
    return Own(cbor_build_uint32(static_cast<uint32_t>(v)));
  }
  return Own(cbor_build_uint64(v));
}

// The shortest encoding, as deterministic CBOR (RFC 8949 §4.2.1) asks.
CborPtr Int(int64_t v) {
  if (v >= 0) return Uint(static_cast<uint64_t>(v));
  const auto n = static_cast<uint64_t>(-(v + 1));  // CBOR stores -1 - v
  if (n <= std::numeric_limits<uint8_t>::max()) {
    return Own(cbor_build_negint8(static_cast<uint8_t>(n)));
  }
  if (n <= std::numeric_limits<uint16_t>::max()) {
    return Own(cbor_build_negint16(static_cast<uint16_t>(n)));
  }
  if (n <= std::numeric_limits<uint32_t>::max()) {
    return Own(cbor_build_negint32(static_cast<uint32_t>(n)));
  }
  return Own(cbor_build_negint64(n));
}

CborPtr Bytes(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return Own(cbor_new_definite_bytestring());
  return Own(cbor_build_bytestring(bytes.data(), bytes.size()));
}

CborPtr Text(std::string_view text) {
  if (text.empty()) return Own(cbor_new_definite_string());
  return Own(cbor_build_stringn(text.data(), text.size()));
}

// Containers take their own reference to what is put in them; the caller's CborPtr drops its own.
void Push(cbor_item_t* array, const CborPtr& item) {
  if (!cbor_array_push(array, item.get())) throw std::bad_alloc();
}
void Put(cbor_item_t* map, const CborPtr& key, const CborPtr& value) {
  if (!cbor_map_add(map, cbor_pair{.key = key.get(), .value = value.get()})) {
    throw std::bad_alloc();
  }
}

std::vector<uint8_t> Serialize(const CborPtr& item) {
  unsigned char* buffer = nullptr;
  size_t buffer_size = 0;
  const size_t written = cbor_serialize_alloc(item.get(), &buffer, &buffer_size);
  const std::unique_ptr<unsigned char, decltype(&std::free)> owned(buffer, &std::free);
  if (written == 0) throw std::bad_alloc();
  return {buffer, buffer + written};
}

// COSE (RFC 9052 §4.4): what ES256 signs is ["Signature1", protected, external_aad, payload],
// with an empty external_aad.
std::vector<uint8_t> SigStructure(std::span<const uint8_t> protected_header,
                                  std::span<const uint8_t> payload) {
  const CborPtr array = Own(cbor_new_definite_array(4));
  Push(array.get(), Text(kSigStructureContext));
  Push(array.get(), Bytes(protected_header));
  Push(array.get(), Bytes({}));
  Push(array.get(), Bytes(payload));
  return Serialize(array);
}

// The JSON pointer (RFC 6901, unescaped: it only names a place in messages) of a member.
std::string Pointer(const std::string& parent, std::string_view token) {
  std::string pointer;
  pointer.reserve(parent.size() + 1 + token.size());
  pointer.append(parent).append("/").append(token);
  return pointer;
}

Result<CborPtr> JsonToCbor(const json& value, const std::string& path, int depth) {
  const auto refuse = [&](std::string_view what) {
    return Error::InvalidArgument(
        "the hcert cannot be written as CBOR: " + (path.empty() ? std::string("/") : path) + " " +
            std::string(what),
        "hcert" + path);
  };
  if (depth > kMaxCborDepth) return refuse("nests too deeply");
  switch (value.type()) {
    case json::value_t::object: {
      CborPtr map = Own(cbor_new_definite_map(value.size()));
      for (const auto& [key, member] : value.items()) {
        if (!IsUtf8(key)) return refuse("has a member name that is not UTF-8");
        ULUS_ASSIGN_OR_RETURN(CborPtr item, JsonToCbor(member, Pointer(path, key), depth + 1));
        Put(map.get(), Text(key), item);
      }
      return map;
    }
    case json::value_t::array: {
      CborPtr array = Own(cbor_new_definite_array(value.size()));
      for (size_t i = 0; i < value.size(); ++i) {
        ULUS_ASSIGN_OR_RETURN(CborPtr item,
                              JsonToCbor(value[i], Pointer(path, std::to_string(i)), depth + 1));
        Push(array.get(), item);
      }
      return array;
    }
    case json::value_t::string: {
      const auto& text = value.get_ref<const std::string&>();
      if (!IsUtf8(text)) return refuse("is not UTF-8");
      return Text(text);
    }
    case json::value_t::number_integer: return Int(value.get<int64_t>());
    case json::value_t::number_unsigned: return Uint(value.get<uint64_t>());
    case json::value_t::number_float: {
      const auto number = value.get<double>();
      if (!std::isfinite(number)) return refuse("is not a finite number");
      return Own(cbor_build_float8(number));
    }
    case json::value_t::boolean: return Own(cbor_build_bool(value.get<bool>()));
    case json::value_t::null: return refuse("is null, which the DCC schema never uses");
    default: return refuse("is neither a string, number, boolean, array nor object");
  }
}

std::optional<std::string> TextOf(const cbor_item_t* item) {
  if (!cbor_isa_string(item)) return std::nullopt;
  std::string text;
  if (cbor_string_is_definite(item)) {
    text.assign(reinterpret_cast<const char*>(cbor_string_handle(item)),  // NOLINT
                cbor_string_length(item));
  } else {
    cbor_item_t** chunks = cbor_string_chunks_handle(item);
    for (size_t i = 0; i < cbor_string_chunk_count(item); ++i) {
      text.append(reinterpret_cast<const char*>(cbor_string_handle(chunks[i])),  // NOLINT
                  cbor_string_length(chunks[i]));
    }
  }
  if (!IsUtf8(text)) return std::nullopt;
  return text;
}

std::optional<std::vector<uint8_t>> BytesOf(const cbor_item_t* item) {
  if (!cbor_isa_bytestring(item)) return std::nullopt;
  const auto append = [](std::vector<uint8_t>& out, const cbor_item_t* chunk) {
    const unsigned char* data = cbor_bytestring_handle(chunk);
    if (data != nullptr) out.insert(out.end(), data, data + cbor_bytestring_length(chunk));
  };
  std::vector<uint8_t> bytes;
  if (cbor_bytestring_is_definite(item)) {
    append(bytes, item);
  } else {
    cbor_item_t** chunks = cbor_bytestring_chunks_handle(item);
    for (size_t i = 0; i < cbor_bytestring_chunk_count(item); ++i) append(bytes, chunks[i]);
  }
  return bytes;
}

std::optional<int64_t> IntOf(const cbor_item_t* item) {
  constexpr auto kMaxInt = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (cbor_isa_uint(item)) {
    const uint64_t v = cbor_get_int(item);
    if (v > kMaxInt) return std::nullopt;
    return static_cast<int64_t>(v);
  }
  if (cbor_isa_negint(item)) {
    const uint64_t n = cbor_get_int(item);
    if (n > kMaxInt) return std::nullopt;
    return -1 - static_cast<int64_t>(n);
  }
  return std::nullopt;
}

// Depth is bounded by the walk in LoadCbor before any item reaches here.
Result<json> CborToJson(const cbor_item_t* item, const std::string& path) {
  const auto refuse = [&](std::string_view what) {
    return Malformed("hcert", (path.empty() ? std::string("/") : path) + " " + std::string(what));
  };
  switch (cbor_typeof(item)) {
    case CBOR_TYPE_UINT: return json(cbor_get_int(item));
    case CBOR_TYPE_NEGINT: {
      const auto v = IntOf(item);
      if (!v) return refuse("is a negative integer too large for 64 bits");
      return json(*v);
    }
    case CBOR_TYPE_STRING: {
      auto text = TextOf(item);
      if (!text) return refuse("is not UTF-8 text");
      return json(std::move(*text));
    }
    case CBOR_TYPE_ARRAY: {
      json array = json::array();
      cbor_item_t** items = cbor_array_handle(item);
      for (size_t i = 0; i < cbor_array_size(item); ++i) {
        ULUS_ASSIGN_OR_RETURN(json element, CborToJson(items[i], Pointer(path, std::to_string(i))));
        array.push_back(std::move(element));
      }
      return array;
    }
    case CBOR_TYPE_MAP: {
      json object = json::object();
      const cbor_pair* pairs = cbor_map_handle(item);
      for (size_t i = 0; i < cbor_map_size(item); ++i) {
        const auto key = TextOf(pairs[i].key);
        if (!key) return refuse("has a key that is not UTF-8 text");
        if (object.contains(*key)) return refuse("has the key \"" + *key + "\" twice");
        ULUS_ASSIGN_OR_RETURN(json member, CborToJson(pairs[i].value, Pointer(path, *key)));
        object[*key] = std::move(member);
      }
      return object;
    }
    case CBOR_TYPE_FLOAT_CTRL: {
      if (!cbor_float_ctrl_is_ctrl(item)) {
        const double number = cbor_float_get_float(item);
        if (!std::isfinite(number)) return refuse("is not a finite number");
        return json(number);
      }
      const uint8_t ctrl = cbor_ctrl_value(item);
      if (ctrl == CBOR_CTRL_TRUE) return json(true);
      if (ctrl == CBOR_CTRL_FALSE) return json(false);
      return refuse("is null, undefined or a simple value, which JSON cannot carry");
    }
    case CBOR_TYPE_BYTESTRING: return refuse("is a byte string, which JSON cannot carry");
    case CBOR_TYPE_TAG: return refuse("is a tagged item, which JSON cannot carry");
  }
  return refuse("has an unknown CBOR type");
}

constexpr uint8_t kMajorByteString = 2;
constexpr uint8_t kMajorTextString = 3;
constexpr uint8_t kMajorArray = 4;
constexpr uint8_t kMajorMap = 5;
constexpr uint8_t kMajorTag = 6;

// The head of a CBOR item (RFC 8949 §3): major type and argument, and where its content starts.
struct CborHead {
  uint8_t major = 0;
  bool indefinite = false;
  uint64_t argument = 0;
  size_t next = 0;
};

std::optional<CborHead> ReadHead(std::span<const uint8_t> data, size_t pos) {
  constexpr uint8_t kIndefinite = 31;
  constexpr uint8_t kOneByteArgument = 24;
  constexpr uint8_t kFirstReserved = 28;
  if (pos >= data.size()) return std::nullopt;
  CborHead head;
  head.major = static_cast<uint8_t>(data[pos] >> 5);
  const uint8_t info = data[pos++] & 0x1F;
  if (info == kIndefinite) {
    // Only strings, arrays and maps have an indefinite form; a lone "break" is not an item.
    if (head.major < kMajorByteString || head.major > kMajorMap) return std::nullopt;
    head.indefinite = true;
  } else if (info >= kFirstReserved) {
    return std::nullopt;
  } else if (info >= kOneByteArgument) {
    const size_t width = size_t{1} << (info - kOneByteArgument);
    if (data.size() - pos < width) return std::nullopt;
    for (size_t i = 0; i < width; ++i) head.argument = (head.argument << 8) | data[pos + i];
    pos += width;
  } else {
    head.argument = info;
  }
  head.next = pos;
  return head;
}

// Walks one CBOR item from `pos` without building it and returns the offset after it; nothing
// when it is cut short, malformed in its heads, nests deeper than kMaxCborDepth, or declares more
// elements than there are bytes left. libcbor allocates arrays and maps at their declared size
// and frees nested items recursively, so both are checked before it sees the bytes.
std::optional<size_t> SkipCborItem(std::span<const uint8_t> data, size_t pos, int depth) {
  constexpr uint8_t kBreak = 0xFF;
  if (depth > kMaxCborDepth) return std::nullopt;
  const auto head = ReadHead(data, pos);
  if (!head) return std::nullopt;
  pos = head->next;
  if (head->indefinite) {
    size_t count = 0;
    while (pos < data.size() && data[pos] != kBreak) {
      const auto next = SkipCborItem(data, pos, depth + 1);
      if (!next) return std::nullopt;
      pos = *next;
      ++count;
    }
    if (pos >= data.size() || (head->major == kMajorMap && count % 2 != 0)) return std::nullopt;
    return pos + 1;
  }
  const uint64_t left = data.size() - pos;
  switch (head->major) {
    case kMajorByteString:
    case kMajorTextString:
      if (head->argument > left) return std::nullopt;
      return pos + static_cast<size_t>(head->argument);
    case kMajorArray:
    case kMajorMap: {
      // Every element takes at least one byte.
      if (head->argument > left) return std::nullopt;
      const uint64_t elements = head->major == kMajorMap ? head->argument * 2 : head->argument;
      if (elements > left) return std::nullopt;
      for (uint64_t i = 0; i < elements; ++i) {
        const auto next = SkipCborItem(data, pos, depth + 1);
        if (!next) return std::nullopt;
        pos = *next;
      }
      return pos;
    }
    case kMajorTag: return SkipCborItem(data, pos, depth + 1);
    default: return pos;  // integers, and floats and simple values
  }
}

// Exactly one CBOR item filling all of `bytes`.
Result<CborPtr> LoadCbor(std::span<const uint8_t> bytes, std::string_view layer) {
  const auto end = SkipCborItem(bytes, 0, 0);
  if (!end) return Malformed(layer, "not well-formed CBOR (or nested too deeply)");
  if (*end != bytes.size()) return Malformed(layer, "trailing bytes after the CBOR item");
  cbor_load_result result{};
  CborPtr item(cbor_load(bytes.data(), bytes.size(), &result));
  if (!item || result.error.code != CBOR_ERR_NONE) {
    if (result.error.code == CBOR_ERR_MEMERROR) throw std::bad_alloc();
    // libcbor's syntax errors are mostly text strings that are not UTF-8.
    return Malformed(layer, result.error.code == CBOR_ERR_SYNTAXERROR
                                ? "not valid CBOR (is a text string not UTF-8?)"
                                : "not well-formed CBOR");
  }
  if (result.read != bytes.size()) return Malformed(layer, "trailing bytes after the CBOR item");
  return item;
}

// A map whose keys are integers (text keys are allowed and ignored, as COSE and CWT allow them);
// the same key twice is refused, since two readers could take different values.
Result<std::map<int64_t, const cbor_item_t*>> IntKeyed(const cbor_item_t* map,
                                                       std::string_view layer) {
  if (!cbor_isa_map(map)) return Malformed(layer, "not a CBOR map");
  std::map<int64_t, const cbor_item_t*> by_key;
  std::set<std::string> text_keys;
  const cbor_pair* pairs = cbor_map_handle(map);
  for (size_t i = 0; i < cbor_map_size(map); ++i) {
    if (const auto key = IntOf(pairs[i].key)) {
      if (!by_key.emplace(*key, pairs[i].value).second) {
        return Malformed(layer, "the key " + std::to_string(*key) + " appears twice");
      }
    } else if (const auto text = TextOf(pairs[i].key)) {
      if (!text_keys.insert(*text).second) {
        return Malformed(layer, "the key \"" + *text + "\" appears twice");
      }
    } else {
      return Malformed(layer, "a key is neither an integer nor text");
    }
  }
  return by_key;
}

const cbor_item_t* Find(const std::map<int64_t, const cbor_item_t*>& map, int64_t key) {
  const auto it = map.find(key);
  return it == map.end() ? nullptr : it->second;
}

bool LooksLikeZlib(std::span<const uint8_t> bytes) {
  constexpr uint8_t kDeflateMethod = 8;
  constexpr uint8_t kMaxWindowBits = 7;  // CINFO: a window of 2^(7+8) bytes at most
  constexpr unsigned kHeaderCheck = 31;
  if (bytes.size() < 2) return false;
  const uint8_t cmf = bytes[0];
  return (cmf & 0x0F) == kDeflateMethod && (cmf >> 4) <= kMaxWindowBits &&
         ((unsigned{cmf} << 8) | bytes[1]) % kHeaderCheck == 0;
}

Result<std::vector<uint8_t>> Inflate(std::span<const uint8_t> compressed) {
  constexpr std::string_view kLayer = "zlib";
  z_stream stream{};
  if (inflateInit(&stream) != Z_OK) throw std::bad_alloc();
  const std::unique_ptr<z_stream, decltype(&inflateEnd)> end(&stream, &inflateEnd);
  // One byte more than allowed, to tell "exactly at the limit" from "over it".
  std::vector<uint8_t> out(kMaxCoseBytes + 1);
  stream.next_in = compressed.data();
  stream.avail_in = static_cast<uInt>(compressed.size());
  stream.next_out = out.data();
  stream.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&stream, Z_FINISH);
  if (rc == Z_STREAM_END) {
    if (stream.avail_in != 0) return Malformed(kLayer, "trailing bytes after the zlib stream");
    if (stream.total_out > kMaxCoseBytes) {
      return Malformed(kLayer, "inflates to more than 64 KiB");
    }
    out.resize(stream.total_out);
    return out;
  }
  if (rc == Z_MEM_ERROR) throw std::bad_alloc();
  if (stream.avail_out == 0) return Malformed(kLayer, "inflates to more than 64 KiB");
  if (rc == Z_BUF_ERROR) return Malformed(kLayer, "the compressed data is cut short");
  return Malformed(kLayer, stream.msg != nullptr ? stream.msg : "the compressed data is corrupt");
}

std::vector<uint8_t> Deflate(std::span<const uint8_t> data) {
  uLongf size = compressBound(data.size());
  std::vector<uint8_t> out(size);
  if (compress2(out.data(), &size, data.data(), data.size(), Z_BEST_COMPRESSION) != Z_OK) {
    throw std::bad_alloc();  // the only failure left with a compressBound buffer
  }
  out.resize(size);
  return out;
}

struct CoseHeaders {
  std::vector<uint8_t> kid;
  int alg = 0;
};

// The algorithm must be in the protected bucket (so a forger cannot change it); the kid may be in
// either, as the DCC specification allows. No label may be in both (RFC 9052 §3).
Result<CoseHeaders> ReadHeaders(std::span<const uint8_t> protected_bytes,
                                const cbor_item_t* unprotected) {
  constexpr std::string_view kProtected = "COSE protected header";
  constexpr std::string_view kUnprotected = "COSE unprotected header";
  std::map<int64_t, const cbor_item_t*> protected_map;
  CborPtr protected_item;          // keeps the items protected_map points into alive
  if (!protected_bytes.empty()) {  // a zero-length bstr stands for an empty map (RFC 9052 §3)
    ULUS_ASSIGN_OR_RETURN(protected_item, LoadCbor(protected_bytes, kProtected));
    ULUS_ASSIGN_OR_RETURN(protected_map, IntKeyed(protected_item.get(), kProtected));
  }
  ULUS_ASSIGN_OR_RETURN(const auto unprotected_map, IntKeyed(unprotected, kUnprotected));
  for (const auto& entry : unprotected_map) {
    if (protected_map.contains(entry.first)) {
      return Malformed(kUnprotected, "the label " + std::to_string(entry.first) +
                                         " is also in the protected header");
    }
  }
  if (protected_map.contains(kHeaderCrit) || unprotected_map.contains(kHeaderCrit)) {
    return Malformed(kProtected, "critical header parameters (crit) are not supported");
  }
  const cbor_item_t* alg = Find(protected_map, kHeaderAlg);
  if (alg == nullptr) {
    return Malformed(kProtected, Find(unprotected_map, kHeaderAlg) != nullptr
                                     ? "the algorithm (1) is not protected"
                                     : "no algorithm (1)");
  }
  if (IntOf(alg) != kAlgEs256) return Malformed(kProtected, "the algorithm is not ES256 (-7)");

  CoseHeaders headers;
  headers.alg = static_cast<int>(kAlgEs256);
  const cbor_item_t* kid = Find(protected_map, kHeaderKid);
  if (kid == nullptr) kid = Find(unprotected_map, kHeaderKid);
  if (kid == nullptr) return Malformed(kProtected, "no key identifier (kid, 4)");
  auto kid_bytes = BytesOf(kid);
  if (!kid_bytes || kid_bytes->empty()) {
    return Malformed(kProtected, "the key identifier (kid, 4) is not a non-empty byte string");
  }
  headers.kid = std::move(*kid_bytes);
  return headers;
}

Result<TimePoint> TimeClaim(const std::map<int64_t, const cbor_item_t*>& claims, int64_t key,
                            std::string_view name) {
  constexpr std::string_view kLayer = "CWT claims";
  const std::string label = std::string(name) + " (" + std::to_string(key) + ")";
  const cbor_item_t* item = Find(claims, key);
  if (item == nullptr) return Malformed(kLayer, "no " + label + " claim");
  const auto seconds = IntOf(item);
  if (!seconds) return Malformed(kLayer, "the " + label + " claim is not a 64-bit integer");
  const auto time = FromEpochSeconds(*seconds);
  if (!time) return Malformed(kLayer, "the " + label + " claim is out of range");
  return *time;
}

Result<DccClaims> ReadClaims(std::span<const uint8_t> payload) {
  constexpr std::string_view kLayer = "CWT claims";
  ULUS_ASSIGN_OR_RETURN(const CborPtr root, LoadCbor(payload, "CWT payload"));
  ULUS_ASSIGN_OR_RETURN(const auto claims, IntKeyed(root.get(), kLayer));
  DccClaims out;

  const cbor_item_t* iss = Find(claims, kClaimIss);
  if (iss == nullptr) return Malformed(kLayer, "no iss (1) claim");
  auto issuer = TextOf(iss);
  if (!issuer) return Malformed(kLayer, "the iss (1) claim is not UTF-8 text");
  out.issuer_country = std::move(*issuer);
  ULUS_ASSIGN_OR_RETURN(out.expires_at, TimeClaim(claims, kClaimExp, "exp"));
  ULUS_ASSIGN_OR_RETURN(out.issued_at, TimeClaim(claims, kClaimIat, "iat"));

  const cbor_item_t* container = Find(claims, kClaimHcert);
  if (container == nullptr) return Malformed(kLayer, "no hcert (-260) claim");
  ULUS_ASSIGN_OR_RETURN(const auto hcerts, IntKeyed(container, "hcert (-260) claim"));
  const cbor_item_t* hcert = Find(hcerts, kHcertEuDcc);
  if (hcert == nullptr) return Malformed(kLayer, "the hcert (-260) claim has no EU DCC (1)");
  if (!cbor_isa_map(hcert)) return Malformed(kLayer, "the EU DCC (-260/1) is not a map");
  ULUS_ASSIGN_OR_RETURN(out.hcert, CborToJson(hcert, ""));
  return out;
}

Result<ParsedHc1> ParseCoseSign1(std::span<const uint8_t> cose) {
  constexpr std::string_view kLayer = "COSE_Sign1";
  // Tag 18 is what the DCC specification writes, but some issuers leave it out and verifiers
  // take both; the tag says nothing the array's shape does not. The tag is read here: libcbor 0.8
  // (Debian 12) refuses the one-byte heads of tags 6 to 20, 0xD2 among them (fixed in 0.10).
  size_t body = 0;
  if (const auto head = ReadHead(cose, 0); head && head->major == kMajorTag) {
    if (head->argument != kCoseSign1Tag) {
      return Malformed(kLayer,
                       "tagged " + std::to_string(head->argument) + ", not 18 (COSE_Sign1)");
    }
    body = head->next;
  }
  ULUS_ASSIGN_OR_RETURN(const CborPtr root, LoadCbor(cose.subspan(body), kLayer));
  const cbor_item_t* array = root.get();
  if (!cbor_isa_array(array) || cbor_array_size(array) != kCoseSign1Items) {
    return Malformed(kLayer, "not an array of four items");
  }
  cbor_item_t** items = cbor_array_handle(array);
  const auto protected_bytes = BytesOf(items[0]);
  if (!protected_bytes) return Malformed(kLayer, "the protected header is not a byte string");
  const auto payload = BytesOf(items[2]);
  if (!payload) return Malformed(kLayer, "the payload is not a byte string");
  auto signature = BytesOf(items[3]);
  if (!signature) return Malformed(kLayer, "the signature is not a byte string");
  if (signature->size() != kEs256SignatureBytes) {
    return Malformed(kLayer, "an ES256 signature is 64 bytes (r||s)");
  }
  ULUS_ASSIGN_OR_RETURN(auto headers, ReadHeaders(*protected_bytes, items[1]));

  ParsedHc1 parsed;
  parsed.kid = std::move(headers.kid);
  parsed.alg = headers.alg;
  ULUS_ASSIGN_OR_RETURN(parsed.claims, ReadClaims(*payload));
  parsed.signed_bytes = SigStructure(*protected_bytes, *payload);
  parsed.signature = std::move(*signature);
  return parsed;
}

}  // namespace

std::vector<uint8_t> DccKeyId(const crypto::PublicKey& key) {
  const std::string pem = key.ToPem();
  const std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  ULUS_ASSERT(bio != nullptr);
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* der = nullptr;
  long der_size = 0;
  const int ok = PEM_read_bio(bio.get(), &name, &header, &der, &der_size);
  const auto openssl_free = [](void* p) { OPENSSL_free(p); };
  const std::unique_ptr<char, decltype(openssl_free)> owned_name(name, openssl_free);
  const std::unique_ptr<char, decltype(openssl_free)> owned_header(header, openssl_free);
  const std::unique_ptr<unsigned char, decltype(openssl_free)> owned_der(der, openssl_free);
  // ToPem writes a "PUBLIC KEY" block; anything else is a bug in crypto, not bad input.
  ULUS_ASSERT(ok == 1 && std::string_view(name) == "PUBLIC KEY" && der_size > 0);
  const auto digest = crypto::Sha256(std::span<const uint8_t>(der, static_cast<size_t>(der_size)));
  return {digest.begin(), digest.begin() + kDccKeyIdBytes};
}

Result<std::string> EncodeHc1(const DccClaims& claims, const crypto::Signer& signer) {
  if (signer.Alg() != crypto::SignatureAlg::kEs256) {
    return Error::InvalidArgument("a DCC is signed with ES256 (ECDSA on P-256); this key signs " +
                                      std::string(crypto::AlgName(signer.Alg())),
                                  "key");
  }
  if (!claims.hcert.is_object()) {
    return Error::InvalidArgument("the hcert must be a JSON object", "hcert");
  }
  if (!IsUtf8(claims.issuer_country)) {
    return Error::InvalidArgument("the issuer country is not UTF-8 text", "issuer_country");
  }
  ULUS_ASSIGN_OR_RETURN(const CborPtr hcert, JsonToCbor(claims.hcert, "", 0));

  const CborPtr container = Own(cbor_new_definite_map(1));
  Put(container.get(), Int(kHcertEuDcc), hcert);
  // Keys in deterministic order (RFC 8949 §4.2.1): 1, 4, 6, then the negative -260.
  const CborPtr cwt = Own(cbor_new_definite_map(4));
  Put(cwt.get(), Int(kClaimIss), Text(claims.issuer_country));
  Put(cwt.get(), Int(kClaimExp), Int(ToUnixSeconds(claims.expires_at)));
  Put(cwt.get(), Int(kClaimIat), Int(ToUnixSeconds(claims.issued_at)));
  Put(cwt.get(), Int(kClaimHcert), container);
  const std::vector<uint8_t> payload = Serialize(cwt);

  const CborPtr header = Own(cbor_new_definite_map(2));
  Put(header.get(), Int(kHeaderAlg), Int(kAlgEs256));
  Put(header.get(), Int(kHeaderKid), Bytes(DccKeyId(signer.Public())));
  const std::vector<uint8_t> protected_bytes = Serialize(header);

  ULUS_ASSIGN_OR_RETURN(const auto signature, signer.Sign(SigStructure(protected_bytes, payload)));
  if (signature.size() != kEs256SignatureBytes) {
    return Error::Internal("the signer returned an ES256 signature that is not 64 bytes");
  }

  const CborPtr array = Own(cbor_new_definite_array(kCoseSign1Items));
  Push(array.get(), Bytes(protected_bytes));
  Push(array.get(), Own(cbor_new_definite_map(0)));
  Push(array.get(), Bytes(payload));
  Push(array.get(), Bytes(signature));
  const CborPtr cose_sign1 = Own(cbor_build_tag(kCoseSign1Tag, array.get()));
  const std::vector<uint8_t> cose = Serialize(cose_sign1);
  if (cose.size() > kMaxCoseBytes) {
    return Error{ErrorCode::kTooLarge, "the signed certificate is larger than 64 KiB", "hcert"};
  }
  return std::string(kPrefix) + Base45Encode(Deflate(cose));
}

Result<ParsedHc1> ParseHc1(std::string_view text) {
  if (!text.starts_with(kPrefix)) return Malformed("prefix", "it does not start with \"HC1:\"");
  if (text.size() > kMaxHc1Chars) return Malformed("length", "longer than any DCC can be");
  const auto decoded = Base45Decode(text.substr(kPrefix.size()));
  if (!decoded) return Malformed("Base45", "not valid Base45 (RFC 9285)");
  // The specification lets the COSE message go uncompressed; a zlib header cannot be mistaken for
  // the start of one (0xD2 tagged, 0x84 untagged), so the first bytes tell which it is.
  if (!LooksLikeZlib(*decoded)) {
    if (decoded->size() > kMaxCoseBytes) return Malformed("COSE_Sign1", "larger than 64 KiB");
    return ParseCoseSign1(*decoded);
  }
  ULUS_ASSIGN_OR_RETURN(const auto cose, Inflate(*decoded));
  return ParseCoseSign1(cose);
}

Status VerifyHc1(const ParsedHc1& parsed, const crypto::PublicKey& key) {
  if (parsed.alg != kAlgEs256) {
    return Error{ErrorCode::kUnauthenticated, "the HC1 code is not signed with ES256", "signature"};
  }
  auto status = key.Verify(crypto::SignatureAlg::kEs256, parsed.signed_bytes, parsed.signature);
  if (!status.ok() && status.error().code == ErrorCode::kUnauthenticated) {
    return Error{
        ErrorCode::kUnauthenticated,
        "the HC1 code's signature does not verify with this key: " + status.error().message,
        "signature"};
  }
  return status;
}

}  // namespace ulus::documents
