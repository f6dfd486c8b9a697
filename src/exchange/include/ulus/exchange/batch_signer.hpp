#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
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

// Compact text for headers and logs: base64url (no padding) of a JSON object with exactly the
// members alg, at, i, kid, n, path, root, sig. Parse refuses anything else: unknown or missing
// members, wrong types, digests that are not 32 bytes, an index outside the batch.
std::string SerializeBatchSignature(const BatchSignature& sig);
Result<BatchSignature> ParseBatchSignature(std::string_view text);

struct BatchSignerOptions {
  // A batch closes this long after its first message arrived, or when it holds max_batch.
  std::chrono::microseconds window{2000};
  size_t max_batch = 1024;
};

// Signs message digests in batches: callers on any thread hand in a digest and block; one of
// them, the leader, gathers what arrives within the window, builds the Merkle tree, signs its root
// once and hands every caller its BatchSignature, then passes the lead on. Thread-safe; the
// destructor waits for the batch being signed. `signer` and `clock` must outlive this object.
class BatchSigner {
 public:
  explicit BatchSigner(const crypto::Signer& signer, BatchSignerOptions options = {},
                       const Clock& clock = Clock::System());
  ~BatchSigner();
  BatchSigner(const BatchSigner&) = delete;
  BatchSigner& operator=(const BatchSigner&) = delete;

  Result<BatchSignature> Sign(const crypto::Sha256Digest& message_digest);

  struct Stats {
    uint64_t batches = 0;   // root signatures made
    uint64_t messages = 0;  // digests signed
  };
  [[nodiscard]] Stats stats() const;

 private:
  struct Item;
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
  bool leading_ = false;                // guarded by mu_: a caller is signing batches
};

}  // namespace ulus::exchange
