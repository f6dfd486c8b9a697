#include "ulus/exchange/batch_signer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <charconv>
#include <exception>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "ulus/core/assert.hpp"
#include "ulus/crypto/encoding.hpp"

namespace ulus::exchange {
namespace {

constexpr uint8_t kLeafPrefix = 0x00;
constexpr uint8_t kNodePrefix = 0x01;
// A batch never holds 2^32 messages, so no path is longer than this.
constexpr size_t kMaxPathLength = 32;
constexpr size_t kMaxSerializedLength = 16 * 1024;

Error Invalid(std::string message) {
  return Error::InvalidArgument(std::move(message), "batch_signature");
}

std::optional<crypto::Sha256Digest> DigestFromBase64Url(std::string_view text) {
  auto bytes = crypto::Base64UrlDecode(text);
  if (!bytes || bytes->size() != crypto::Sha256Digest{}.size()) {
    return std::nullopt;
  }
  crypto::Sha256Digest d{};
  std::copy(bytes->begin(), bytes->end(), d.begin());
  return d;
}

std::optional<crypto::Sha256Digest> DigestFromBase64Url(const nlohmann::json& j) {
  if (!j.is_string()) {
    return std::nullopt;
  }
  return DigestFromBase64Url(std::string_view(j.get_ref<const std::string&>()));
}

}  // namespace

crypto::Sha256Digest MerkleLeafHash(const crypto::Sha256Digest& message_digest) {
  std::vector<uint8_t> buf;
  buf.reserve(1 + message_digest.size());
  buf.push_back(kLeafPrefix);
  buf.insert(buf.end(), message_digest.begin(), message_digest.end());
  return crypto::Sha256(buf);
}

crypto::Sha256Digest MerkleNodeHash(const crypto::Sha256Digest& left,
                                    const crypto::Sha256Digest& right) {
  std::vector<uint8_t> buf;
  buf.reserve(1 + left.size() + right.size());
  buf.push_back(kNodePrefix);
  buf.insert(buf.end(), left.begin(), left.end());
  buf.insert(buf.end(), right.begin(), right.end());
  return crypto::Sha256(buf);
}

std::string BatchSigningInput(const BatchSignature& sig) {
  std::string out = "ulus.khur.batch.v1\n";
  out += crypto::HexEncode(sig.root);
  out += '\n';
  out += std::to_string(sig.leaf_count);
  out += '\n';
  out += std::to_string(ToUnixMicros(sig.signed_at));
  out += '\n';
  out += sig.kid;
  out += '\n';
  out += crypto::AlgName(sig.alg);
  return out;
}

namespace {

// The checks of a batch signature that need no public key: the leaf is in the batch, the path
// has exactly the length the tree's shape implies, and leads from the leaf to the root.
Status CheckLeaf(const crypto::Sha256Digest& message_digest, const BatchSignature& sig,
                 const crypto::PublicKey& key) {
  if (sig.leaf_count == 0 || sig.leaf_index >= sig.leaf_count) {
    return Invalid("batch signature: leaf index outside the batch");
  }
  if (sig.kid != key.Kid()) {
    return Error::PermissionDenied("batch signature: signed by key '" + sig.kid + "', not by '" +
                                   key.Kid() + "'");
  }
  crypto::Sha256Digest h = MerkleLeafHash(message_digest);
  uint64_t index = sig.leaf_index;
  uint64_t width = sig.leaf_count;
  size_t used = 0;
  while (width > 1) {
    const bool has_sibling = (index % 2 == 1) || (index + 1 < width);
    if (has_sibling) {
      if (used >= sig.audit_path.size()) {
        return Error::PermissionDenied("batch signature: audit path too short");
      }
      const auto& sibling = sig.audit_path[used++];
      h = (index % 2 == 1) ? MerkleNodeHash(sibling, h) : MerkleNodeHash(h, sibling);
    }
    index /= 2;
    width = (width + 1) / 2;
  }
  if (used != sig.audit_path.size()) {
    return Error::PermissionDenied("batch signature: audit path too long");
  }
  if (!crypto::ConstantTimeEquals(h, sig.root)) {
    return Error::PermissionDenied("batch signature: message is not in the signed batch");
  }
  return Ok();
}

Status CheckRoot(const std::string& signing_input, const BatchSignature& sig,
                 const crypto::PublicKey& key) {
  if (auto st = key.Verify(sig.alg, crypto::AsBytes(signing_input), sig.signature); !st.ok()) {
    return Error::PermissionDenied("batch signature: root signature does not verify");
  }
  return Ok();
}

}  // namespace

Status VerifyBatchSignature(const crypto::Sha256Digest& message_digest, const BatchSignature& sig,
                            const crypto::PublicKey& key) {
  ULUS_TRY(CheckLeaf(message_digest, sig, key));
  return CheckRoot(BatchSigningInput(sig), sig, key);
}

Status BatchVerifier::Verify(const crypto::Sha256Digest& message_digest, const BatchSignature& sig,
                             const crypto::PublicKey& key) {
  ULUS_TRY(CheckLeaf(message_digest, sig, key));
  const std::string input = BatchSigningInput(sig);
  std::string remembered = key.Thumbprint();
  remembered += '\n';
  remembered += input;
  remembered += '\n';
  remembered.append(sig.signature.begin(), sig.signature.end());
  {
    std::lock_guard lock(mu_);
    if (verified_.contains(remembered)) {
      ++stats_.remembered;
      return Ok();
    }
  }
  ULUS_TRY(CheckRoot(input, sig, key));
  std::lock_guard lock(mu_);
  ++stats_.verified;
  if (verified_.size() >= capacity_) verified_.clear();
  verified_.insert(std::move(remembered));
  return Ok();
}

BatchVerifier::Stats BatchVerifier::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

namespace {

// Text JSON writes as it is, between quotes: no quote, backslash, control or non-ASCII byte.
bool IsPlainJsonText(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7f && c != '"' && c != '\\';
  });
}

// The signature's JSON: members in name order, no spaces, as nlohmann::json::dump() writes it
// (the form signatures were logged in from the start). Written by hand on the exchange path,
// where a JSON document per message was a noticeable share of a node's time; nlohmann for a kid
// that would need escaping.
std::string SignatureJson(const BatchSignature& sig) {
  const std::string_view alg = crypto::AlgName(sig.alg);
  if (!IsPlainJsonText(sig.kid) || !IsPlainJsonText(alg)) {
    nlohmann::json path = nlohmann::json::array();
    for (const auto& p : sig.audit_path) path.push_back(crypto::Base64UrlEncode(p));
    nlohmann::json j = {
        {"alg", std::string(alg)},
        {"at", ToUnixMicros(sig.signed_at)},
        {"i", sig.leaf_index},
        {"kid", sig.kid},
        {"n", sig.leaf_count},
        {"path", std::move(path)},
        {"root", crypto::Base64UrlEncode(sig.root)},
        {"sig", crypto::Base64UrlEncode(sig.signature)},
    };
    return j.dump();
  }
  std::string out;
  out.reserve(160 + sig.kid.size() + 46 * sig.audit_path.size());
  out += R"({"alg":")";
  out += alg;
  out += R"(","at":)";
  out += std::to_string(ToUnixMicros(sig.signed_at));
  out += R"(,"i":)";
  out += std::to_string(sig.leaf_index);
  out += R"(,"kid":")";
  out += sig.kid;
  out += R"(","n":)";
  out += std::to_string(sig.leaf_count);
  out += R"(,"path":[)";
  for (size_t k = 0; k < sig.audit_path.size(); ++k) {
    if (k > 0) out += ',';
    out += '"';
    out += crypto::Base64UrlEncode(sig.audit_path[k]);
    out += '"';
  }
  out += R"(],"root":")";
  out += crypto::Base64UrlEncode(sig.root);
  out += R"(","sig":")";
  out += crypto::Base64UrlEncode(sig.signature);
  out += R"("})";
  return out;
}

}  // namespace

std::string SerializeBatchSignature(const BatchSignature& sig) {
  return crypto::Base64UrlEncode(crypto::AsBytes(SignatureJson(sig)));
}

namespace {

// Reads JSON in exactly the layout SignatureJson writes for plain text, front to back.
class CanonicalReader {
 public:
  explicit CanonicalReader(std::string_view json) : rest_(json) {}

  bool Take(std::string_view literal) {
    if (!rest_.starts_with(literal)) return false;
    rest_.remove_prefix(literal.size());
    return true;
  }
  // Text up to the closing quote (the opening one already taken); none with an escape.
  std::optional<std::string_view> Text() {
    const size_t end = rest_.find_first_of("\"\\");
    if (end == std::string_view::npos || rest_[end] != '"') return std::nullopt;
    std::string_view text = rest_.substr(0, end);
    rest_.remove_prefix(end + 1);
    return text;
  }
  template <typename Int>
  std::optional<Int> Number() {
    Int value{};
    const auto [end, error] = std::from_chars(rest_.data(), rest_.data() + rest_.size(), value);
    if (error != std::errc()) return std::nullopt;
    rest_.remove_prefix(static_cast<size_t>(end - rest_.data()));
    return value;
  }
  [[nodiscard]] bool AtEnd() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

// The signature as a node writes it, without building a JSON document: this runs for every
// message a node receives. Nothing is refused here; anything unexpected is left to the general
// reader below, which says what is wrong.
std::optional<BatchSignature> ReadCanonical(std::string_view json) {
  CanonicalReader in(json);
  BatchSignature sig;
  if (!in.Take(R"({"alg":")")) return std::nullopt;
  auto alg = in.Text();
  if (!alg) return std::nullopt;
  auto parsed_alg = crypto::AlgFromName(std::string(*alg));
  if (!parsed_alg || !in.Take(R"(,"at":)")) return std::nullopt;
  sig.alg = *parsed_alg;
  auto at = in.Number<int64_t>();
  if (!at || !in.Take(R"(,"i":)")) return std::nullopt;
  sig.signed_at = FromUnixMicros(*at);
  auto index = in.Number<uint32_t>();
  if (!index || !in.Take(R"(,"kid":")")) return std::nullopt;
  sig.leaf_index = *index;
  auto kid = in.Text();
  // A kid SignatureJson would escape (or bytes that are not UTF-8) is left to the general reader.
  if (!kid || kid->empty() || !IsPlainJsonText(*kid) || !in.Take(R"(,"n":)")) return std::nullopt;
  sig.kid = std::string(*kid);
  auto count = in.Number<uint32_t>();
  if (!count || *count == 0 || sig.leaf_index >= *count || !in.Take(R"(,"path":[)")) {
    return std::nullopt;
  }
  sig.leaf_count = *count;
  if (!in.Take("]")) {
    do {
      if (sig.audit_path.size() == kMaxPathLength || !in.Take("\"")) return std::nullopt;
      auto entry = in.Text();
      if (!entry) return std::nullopt;
      auto digest = DigestFromBase64Url(*entry);
      if (!digest) return std::nullopt;
      sig.audit_path.push_back(*digest);
    } while (in.Take(","));
    if (!in.Take("]")) return std::nullopt;
  }
  if (!in.Take(R"(,"root":")")) return std::nullopt;
  auto root_text = in.Text();
  if (!root_text) return std::nullopt;
  auto root = DigestFromBase64Url(*root_text);
  if (!root || !in.Take(R"(,"sig":")")) return std::nullopt;
  sig.root = *root;
  auto signature_text = in.Text();
  if (!signature_text || !in.Take("}") || !in.AtEnd()) return std::nullopt;
  auto signature = crypto::Base64UrlDecode(*signature_text);
  if (!signature || signature->empty()) return std::nullopt;
  sig.signature = std::move(*signature);
  return sig;
}

}  // namespace

Result<BatchSignature> ParseBatchSignature(std::string_view text) {
  if (text.empty() || text.size() > kMaxSerializedLength) {
    return Invalid("batch signature: empty or too long");
  }
  auto raw = crypto::Base64UrlDecode(text);
  if (!raw) {
    return Invalid("batch signature: not base64url");
  }
  const std::string_view json(reinterpret_cast<const char*>(raw->data()), raw->size());
  if (auto sig = ReadCanonical(json)) {
    // Only the canonical form is accepted, so one signature has one spelling in the log.
    if (SerializeBatchSignature(*sig) == text) return std::move(*sig);
  }
  nlohmann::json j = nlohmann::json::parse(raw->begin(), raw->end(), nullptr, false);
  if (!j.is_object() || j.size() != 8) {
    return Invalid("batch signature: not an object with exactly its eight members");
  }
  for (const char* key : {"alg", "at", "i", "kid", "n", "path", "root", "sig"}) {
    if (!j.contains(key)) {
      return Invalid(std::string("batch signature: missing '") + key + "'");
    }
  }
  BatchSignature sig;
  const auto& alg = j["alg"];
  std::optional<crypto::SignatureAlg> parsed_alg;
  if (alg.is_string()) {
    parsed_alg = crypto::AlgFromName(alg.get<std::string>());
  }
  if (!parsed_alg) {
    return Invalid("batch signature: unknown 'alg'");
  }
  sig.alg = *parsed_alg;
  if (!j["at"].is_number_integer()) {
    return Invalid("batch signature: 'at' must be an integer");
  }
  sig.signed_at = FromUnixMicros(j["at"].get<int64_t>());
  for (const char* key : {"i", "n"}) {
    const auto& v = j[key];
    if (!v.is_number_unsigned() || v.get<uint64_t>() > UINT32_MAX) {
      return Invalid(std::string("batch signature: '") + key +
                     "' must be a small unsigned integer");
    }
  }
  sig.leaf_index = j["i"].get<uint32_t>();
  sig.leaf_count = j["n"].get<uint32_t>();
  if (sig.leaf_count == 0 || sig.leaf_index >= sig.leaf_count) {
    return Invalid("batch signature: leaf index outside the batch");
  }
  if (!j["kid"].is_string() || j["kid"].get<std::string>().empty()) {
    return Invalid("batch signature: 'kid' must be a non-empty string");
  }
  sig.kid = j["kid"].get<std::string>();
  const auto& path = j["path"];
  if (!path.is_array() || path.size() > kMaxPathLength) {
    return Invalid("batch signature: 'path' must be a short array");
  }
  for (const auto& p : path) {
    auto d = DigestFromBase64Url(p);
    if (!d) {
      return Invalid("batch signature: a path entry is not a base64url SHA-256 digest");
    }
    sig.audit_path.push_back(*d);
  }
  auto root = DigestFromBase64Url(j["root"]);
  if (!root) {
    return Invalid("batch signature: 'root' is not a base64url SHA-256 digest");
  }
  sig.root = *root;
  std::optional<std::vector<uint8_t>> signature;
  if (j["sig"].is_string()) {
    signature = crypto::Base64UrlDecode(j["sig"].get<std::string>());
  }
  if (!signature || signature->empty()) {
    return Invalid("batch signature: 'sig' is not base64url");
  }
  sig.signature = std::move(*signature);
  // Only the canonical form is accepted, so one signature has one spelling in the log.
  if (SerializeBatchSignature(sig) != text) {
    return Invalid("batch signature: not in canonical form");
  }
  return sig;
}

// A Sign() caller's item lives on its stack and the caller waits on the item's own condition
// variable, so finishing a batch wakes exactly its callers rather than every thread waiting on
// any batch. A SignAsync() item is owned by the signer from the moment it is queued until its
// callback has run.
struct BatchSigner::Item {
  crypto::Sha256Digest digest{};
  std::optional<Result<BatchSignature>> result;  // guarded by the signer's mu_
  bool lead = false;                             // guarded by mu_: this caller signs next
  std::condition_variable done;
  SignDone done_callback;  // SignAsync() only
  bool is_async = false;
};

namespace {

// An exception escaping a callback would unwind the leader with the lead still taken and every
// later caller waiting, so it is logged and dropped.
void CallDone(const BatchSigner::SignDone& done, Result<BatchSignature> result) {
  if (!done) return;
  try {
    done(std::move(result));
  } catch (const std::exception& e) {
    spdlog::error("exchange: a batch signer callback threw: {}", e.what());
  } catch (...) {
    spdlog::error("exchange: a batch signer callback threw a non-exception");
  }
}

Error ShuttingDown() {
  return Error::Unavailable("batch signer is shutting down");
}

}  // namespace

BatchSigner::BatchSigner(const crypto::Signer& signer, BatchSignerOptions options,
                         const Clock& clock)
    : signer_(signer), options_(options), clock_(clock) {}

BatchSigner::~BatchSigner() {
  std::vector<std::unique_ptr<Item>> orphans;
  {
    std::unique_lock lock(mu_);
    stopping_ = true;
    work_ready_.notify_all();
    idle_.wait(lock, [&] { return !leading_; });
    // Left over: digests waiting for a posted flush, which may never run (a stopped io_context).
    // A Sign() caller always has a leader, so these are all asynchronous.
    for (Item* item : queue_) {
      ULUS_ASSERT(item->is_async);
      orphans.emplace_back(item);
    }
    queue_.clear();
  }
  for (auto& item : orphans) CallDone(item->done_callback, ShuttingDown());
}

// There is no signer thread: the caller that finds nobody signing signs the batch on its own
// thread (on a virtual machine a hand-off costs more than an ES256 signature), and keeps signing
// batches until its own digest is signed; then the lead passes on (see Lead).
Result<BatchSignature> BatchSigner::Sign(const crypto::Sha256Digest& message_digest) {
  const size_t max_batch = std::max<size_t>(options_.max_batch, 1);
  Item item;
  item.digest = message_digest;
  std::unique_lock lock(mu_);
  if (stopping_) {
    return ShuttingDown();
  }
  if (leading_ && leader_ == std::this_thread::get_id()) {
    // A callback on the leader's own thread: waiting for the leader would wait forever.
    lock.unlock();
    std::vector<Item*> alone{&item};
    SignBatch(alone);
    lock.lock();
    stats_.batches++;
    stats_.messages++;
    return std::move(*item.result);
  }
  queue_.push_back(&item);
  ++sync_queued_;
  if (leading_) {
    // A leader filling its window wants to know when the batch is full.
    if (queue_.size() >= max_batch) work_ready_.notify_one();
    item.done.wait(lock, [&] { return item.result.has_value() || item.lead; });
    if (item.result.has_value()) return std::move(*item.result);
  }
  leading_ = true;
  leader_ = std::this_thread::get_id();
  Lead(lock, &item);
  return std::move(*item.result);
}

void BatchSigner::SignAsync(const crypto::Sha256Digest& digest,
                            boost::asio::any_io_executor executor, SignDone done) {
  auto item = std::make_unique<Item>();
  item->digest = digest;
  item->done_callback = std::move(done);
  item->is_async = true;
  bool post = false;
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back(item.release());  // owned by the queue, then by the leader's batch
      if (leading_) {
        if (queue_.size() >= std::max<size_t>(options_.max_batch, 1)) work_ready_.notify_one();
      } else if (!flush_posted_) {
        flush_posted_ = true;
        post = true;
      }
    }
  }
  if (item) {
    CallDone(item->done_callback, ShuttingDown());
    return;
  }
  // One flush for everything queued until it runs: that is what makes the batch.
  if (post) boost::asio::post(executor, [this] { Flush(); });
}

void BatchSigner::Flush() {
  std::unique_lock lock(mu_);
  flush_posted_ = false;
  // A leader already signing takes these digests too; it stops only with the queue empty.
  if (leading_ || queue_.empty()) return;
  leading_ = true;
  leader_ = std::this_thread::get_id();
  Lead(lock, nullptr);
}

// `mine` is the leader's own item, or null for a flush. While it is pending, each batch waits
// one window to fill; once it is signed, the lead passes to the oldest Sign() caller waiting (a
// SignAsync() digest has no thread to take it), or with none the leader goes on signing, without
// windows, until the queue is empty.
void BatchSigner::Lead(std::unique_lock<std::mutex>& lock, Item* mine) {
  const size_t max_batch = std::max<size_t>(options_.max_batch, 1);
  for (;;) {
    if (mine != nullptr && mine->result.has_value()) mine = nullptr;
    if (mine == nullptr) {
      if (sync_queued_ > 0) {
        auto next = std::find_if(queue_.begin(), queue_.end(),
                                 [](const Item* item) { return !item->is_async; });
        ULUS_ASSERT(next != queue_.end());
        leader_ = {};  // until the promoted caller wakes; see Sign's re-entry check
        (*next)->lead = true;
        (*next)->done.notify_one();
        return;
      }
      if (queue_.empty()) {
        leading_ = false;
        leader_ = {};
        idle_.notify_all();
        return;
      }
    } else {
      // Let the batch fill for one window unless it is already full or we are stopping.
      const auto deadline = std::chrono::steady_clock::now() + options_.window;
      work_ready_.wait_until(lock, deadline,
                             [&] { return stopping_ || queue_.size() >= max_batch; });
    }
    std::vector<Item*> batch;
    while (!queue_.empty() && batch.size() < max_batch) {
      Item* item = queue_.front();
      queue_.pop_front();
      if (!item->is_async) --sync_queued_;
      batch.push_back(item);
    }
    lock.unlock();
    SignBatch(batch);
    lock.lock();
    stats_.batches++;
    stats_.messages += batch.size();
  }
}

BatchSigner::Stats BatchSigner::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void BatchSigner::SignBatch(std::vector<Item*>& batch) {
  // levels[0] are the leaves; each next level halves, promoting an odd last node.
  std::vector<std::vector<crypto::Sha256Digest>> levels(1);
  levels[0].reserve(batch.size());
  for (const Item* item : batch) {
    levels[0].push_back(MerkleLeafHash(item->digest));
  }
  while (levels.back().size() > 1) {
    const auto& below = levels.back();
    std::vector<crypto::Sha256Digest> above;
    above.reserve((below.size() + 1) / 2);
    for (size_t i = 0; i < below.size(); i += 2) {
      above.push_back(i + 1 < below.size() ? MerkleNodeHash(below[i], below[i + 1]) : below[i]);
    }
    levels.push_back(std::move(above));
  }

  BatchSignature base;
  base.root = levels.back()[0];
  base.leaf_count = static_cast<uint32_t>(batch.size());
  base.kid = signer_.Kid();
  base.alg = signer_.Alg();
  // Microseconds, the precision the serialized form keeps.
  base.signed_at = FromUnixMicros(ToUnixMicros(clock_.Now()));
  const std::string input = BatchSigningInput(base);
  auto signature = signer_.Sign(crypto::AsBytes(input));

  std::vector<std::unique_ptr<Item>> finished;  // asynchronous items, called back below
  std::unique_lock lock(mu_);                   // results are read by callers under mu_
  for (size_t leaf = 0; leaf < batch.size(); ++leaf) {
    if (batch[leaf]->is_async) finished.emplace_back(batch[leaf]);
    if (!signature.ok()) {
      batch[leaf]->result = signature.error();
      continue;
    }
    BatchSignature sig = base;
    sig.signature = *signature;
    sig.leaf_index = static_cast<uint32_t>(leaf);
    size_t index = leaf;
    for (size_t level = 0; level + 1 < levels.size(); ++level) {
      const size_t sibling = index ^ 1U;
      if (sibling < levels[level].size()) {
        sig.audit_path.push_back(levels[level][sibling]);
      }
      index /= 2;
    }
    batch[leaf]->result = std::move(sig);
  }
  // Under the lock: a Sign() caller may return and destroy its item once it sees the result.
  for (Item* item : batch) {
    if (!item->is_async) item->done.notify_one();
  }
  lock.unlock();
  // Outside mu_: a callback may sign again (it joins the queue its leader is draining).
  for (auto& item : finished) CallDone(item->done_callback, std::move(*item->result));
}

}  // namespace ulus::exchange
