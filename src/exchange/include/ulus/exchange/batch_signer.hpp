#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include "ulus/core/clock.hpp"
#include "ulus/core/result.hpp"
#include "ulus/crypto/digest.hpp"
#include "ulus/crypto/keys.hpp"

namespace ulus::exchange {

// One message's share of a batch signature: the batch's Merkle root, signed once, and the path
// from this message's leaf up to that root.
//
// The tree: leaf = SHA-256(0x00 || message digest), inner node = SHA-256(0x01 || left || right),
// so a leaf can never pass for an inner node. Leaves are in arrival order; at each level an odd
// last node is promoted unchanged to the next level and contributes no path entry. The path
// lists sibling hashes from the leaf upward.
//
// The signature is a raw JOSE-form signature (ES256: r||s) over BatchSigningInput(): the text
// "ulus.khur.batch.v1\n" followed by hex(root), leaf_count, signed_at (Unix microseconds), kid
// and alg, each on its own line. Raw bytes rather than a JWS because every message carries one
// and the metadata already travels in the BatchSignature itself.
struct BatchSignature {
  crypto::Sha256Digest root{};
  uint32_t leaf_index = 0;
  uint32_t leaf_count = 0;
  std::vector<crypto::Sha256Digest> audit_path;
  std::vector<uint8_t> signature;
  std::string kid;
  crypto::SignatureAlg alg = crypto::SignatureAlg::kEs256;
  TimePoint signed_at;

  bool operator==(const BatchSignature&) const = default;
};

crypto::Sha256Digest MerkleLeafHash(const crypto::Sha256Digest& message_digest);
crypto::Sha256Digest MerkleNodeHash(const crypto::Sha256Digest& left,
                                    const crypto::Sha256Digest& right);
// The bytes the batch key signs (see BatchSignature).
std::string BatchSigningInput(const BatchSignature& sig);

// Checks that `message_digest` is leaf `leaf_index` of a tree whose root is `sig.root` (the path
// must have exactly the length the tree's shape implies) and that `key` signed that root. `key`
// must carry the signature's kid.
Status VerifyBatchSignature(const crypto::Sha256Digest& message_digest, const BatchSignature& sig,
                            const crypto::PublicKey& key);

// VerifyBatchSignature for a stream of messages: a root signature it has verified once is not
// verified again, so the messages of one batch share one public-key operation. What it remembers
// is everything that was verified: the key (its RFC 7638 thumbprint), every byte the key signed
// (BatchSigningInput: root, leaf count, time, kid, algorithm) and the signature. A signature that
// differs from a verified one in any of them (a forged time or batch size over a genuine root) is
// verified afresh, and fails. The leaf and its path are checked for every message. Forgets all at
// `capacity` remembered roots. Thread-safe.
class BatchVerifier {
 public:
  explicit BatchVerifier(size_t capacity = 65'536) : capacity_(capacity) {}
  Status Verify(const crypto::Sha256Digest& message_digest, const BatchSignature& sig,
                const crypto::PublicKey& key);

  struct Stats {
    uint64_t verified = 0;    // public-key verifications made
    uint64_t remembered = 0;  // messages whose root was already verified
  };
  [[nodiscard]] Stats stats() const;

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_set<std::string> verified_;  // guarded by mu_
  Stats stats_;                               // guarded by mu_
};

// Compact text for headers and logs: base64url (no padding) of a JSON object with exactly the
// members alg, at, i, kid, n, path, root, sig. Parse refuses anything else: unknown or missing
// members, wrong types, digests that are not 32 bytes, an index outside the batch.
std::string SerializeBatchSignature(const BatchSignature& sig);
Result<BatchSignature> ParseBatchSignature(std::string_view text);

struct BatchSignerOptions {
  // A batch Sign() leads closes this long after its first message arrived, or when it holds
  // max_batch. SignAsync() does not wait: its batch is whatever arrived before its flush ran.
  std::chrono::microseconds window{2000};
  size_t max_batch = 1024;
};

// Signs message digests in batches. There is no signer thread: whoever finds nobody signing
// leads, on its own thread. Sign() blocks; its leader gathers what arrives within the window,
// builds the Merkle tree, signs its root once and hands every caller its BatchSignature.
// SignAsync() never waits for other callers: it queues the digest and, when nobody leads, posts
// one flush to the given executor, which signs everything queued by the time it runs. A leader
// whose own digest is signed (a flush has none) passes the lead to the oldest Sign() caller still
// waiting, or else keeps signing until the queue is empty, since no thread waits on an
// asynchronous digest to take over. The flush goes to the executor of the SignAsync() call that
// found nobody signing and no flush posted; later digests ride on it, so every executor handed in
// must be running for them to be signed before the destructor.
//
// Thread-safe, Sign() and SignAsync() mixed freely. `signer` and `clock` must outlive this object,
// and this object must outlive every executor handed to SignAsync() that may still run (a posted
// flush holds a plain pointer to it): stop or drain them first. The destructor waits for the batch
// being signed, not for a posted flush, so it returns even when the executor's io_context is
// stopped; digests only such a flush would have signed get kUnavailable from it. Must not be
// destroyed inside a callback.
class BatchSigner {
 public:
  using SignDone = std::function<void(Result<BatchSignature>)>;

  explicit BatchSigner(const crypto::Signer& signer, BatchSignerOptions options = {},
                       const Clock& clock = Clock::System());
  ~BatchSigner();
  BatchSigner(const BatchSigner&) = delete;
  BatchSigner& operator=(const BatchSigner&) = delete;

  // Blocks until the digest is signed. Called from a SignAsync callback on the leader's own
  // thread, it signs the digest at once in a batch of its own rather than wait for itself.
  Result<BatchSignature> Sign(const crypto::Sha256Digest& message_digest);

  // Queues the digest and returns without waiting; never signs on the caller's thread. `done`
  // (may be empty) is called exactly once with the digest's signature or error, outside the
  // signer's lock, on whichever thread signed the batch: inside the flush posted to `executor`,
  // or on a thread blocked in Sign() that led the batch. So it may be any thread; post to a
  // strand or your own executor if that matters. It may call SignAsync or Sign again, should be
  // short (it delays the other callbacks of the batch) and not throw: an exception from it is
  // logged and dropped. Once the destructor has begun, `done` gets kUnavailable at once on the
  // caller's thread.
  void SignAsync(const crypto::Sha256Digest& digest, boost::asio::any_io_executor executor,
                 SignDone done);

  struct Stats {
    uint64_t batches = 0;   // root signatures made
    uint64_t messages = 0;  // digests signed
  };
  [[nodiscard]] Stats stats() const;

 private:
  struct Item;
  // Called with mu_ held and leading_ set; returns with mu_ held once the lead is passed on.
  void Lead(std::unique_lock<std::mutex>& lock, Item* mine);
  void Flush();
  void SignBatch(std::vector<Item*>& batch);

  const crypto::Signer& signer_;
  const BatchSignerOptions options_;
  const Clock& clock_;

  mutable std::mutex mu_;
  std::condition_variable work_ready_;  // a leader filling its window waits on it
  std::deque<Item*> queue_;             // guarded by mu_
  bool stopping_ = false;               // guarded by mu_
  Stats stats_;                         // guarded by mu_
  std::condition_variable idle_;        // the destructor waits on it for the last leader
  // Guarded by mu_: a caller or a flush is signing batches (or has been told to). Whenever the
  // queue is non-empty, someone leads or a flush is posted.
  bool leading_ = false;
  std::thread::id leader_;     // guarded by mu_: the leading thread, or none while the lead passes
  bool flush_posted_ = false;  // guarded by mu_: a flush is queued on some executor
  size_t sync_queued_ = 0;     // guarded by mu_: Sign() items in queue_, whose threads wait
};

}  // namespace ulus::exchange
