#include "ulus/exchange/batch_signer.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "ulus/crypto/encoding.hpp"
#include "ulus/store/testing/countdown.hpp"

namespace ulus::exchange {
namespace {

crypto::Sha256Digest DigestOf(int i) {
  return crypto::Sha256("message " + std::to_string(i));
}

crypto::SigningKey NewKey() {
  auto key = crypto::SigningKey::Generate(crypto::SignatureAlg::kEs256);
  EXPECT_TRUE(key.ok());
  return std::move(key).value();
}

using store::testing::Countdown;

// An io_context run by `threads` threads until Stop().
class IoThreads {
 public:
  explicit IoThreads(int threads) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  ~IoThreads() { Stop(); }
  void Stop() {
    guard_.reset();
    io_.stop();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  boost::asio::io_context& io() { return io_; }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_{
      io_.get_executor()};
  std::vector<std::thread> threads_;
};

TEST(BatchSignerTest, OneSignerVerifies) {
  auto key = NewKey();
  BatchSigner signer(key);
  auto sig = signer.Sign(DigestOf(1));
  ASSERT_TRUE(sig.ok()) << sig.error().ToString();
  EXPECT_EQ(sig->leaf_count, 1U);
  EXPECT_TRUE(sig->audit_path.empty());
  EXPECT_EQ(sig->kid, key.Kid());
  EXPECT_TRUE(VerifyBatchSignature(DigestOf(1), *sig, key.Public()).ok());
  EXPECT_FALSE(VerifyBatchSignature(DigestOf(2), *sig, key.Public()).ok());
}

TEST(BatchSignerTest, ManyConcurrentSignersAllVerifyAndShareBatches) {
  constexpr int kThreads = 16;
  constexpr int kPerThread = 500;
  auto key = NewKey();
  BatchSigner signer(key);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const auto digest = DigestOf(t * kPerThread + i);
        auto sig = signer.Sign(digest);
        if (!sig.ok() || !VerifyBatchSignature(digest, *sig, key.Public()).ok()) {
          ++failures;
          continue;
        }
        auto parsed = ParseBatchSignature(SerializeBatchSignature(*sig));
        if (!parsed.ok() || !(*parsed == *sig)) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(failures.load(), 0);
  const auto stats = signer.stats();
  EXPECT_EQ(stats.messages, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_LT(stats.batches, stats.messages / 2) << "batching did not happen";
}

// A batch of odd size exercises the promotion rule at several levels.
std::vector<BatchSignature> SignBatchOf(const crypto::Signer& key, int n) {
  BatchSignerOptions options;
  options.window = std::chrono::milliseconds(200);
  options.max_batch = static_cast<size_t>(n);
  BatchSigner signer(key, options);
  std::vector<BatchSignature> sigs(static_cast<size_t>(n));
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      auto sig = signer.Sign(DigestOf(i));
      ASSERT_TRUE(sig.ok());
      sigs[static_cast<size_t>(i)] = *sig;
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(signer.stats().batches, 1U);
  return sigs;
}

// The text every message carries and every log keeps: the same bytes a generic JSON writer gives
// (signatures logged before it was written by hand must still read as canonical), also for a kid
// that needs escaping.
TEST(BatchSignatureTextTest, IsTheCompactJsonOfItsMembersInNameOrder) {
  for (const std::string kid : {"bbCcfFW8DFiyvUJTC0uGSm6owhnFlttz4hEgzvxtE2w", "odd \"kid\"\\"}) {
    BatchSignature sig;
    sig.root.fill(7);
    sig.leaf_index = 2;
    sig.leaf_count = 5;
    sig.audit_path = {crypto::Sha256("a"), crypto::Sha256("b"), crypto::Sha256("c")};
    sig.signature = std::vector<uint8_t>(64, 9);
    sig.kid = kid;
    sig.signed_at = FromUnixMicros(1'795'000'000'123'456);
    nlohmann::json path = nlohmann::json::array();
    for (const auto& p : sig.audit_path) path.push_back(crypto::Base64UrlEncode(p));
    const nlohmann::json expected = {{"alg", "ES256"},
                                     {"at", 1'795'000'000'123'456},
                                     {"i", 2},
                                     {"kid", kid},
                                     {"n", 5},
                                     {"path", path},
                                     {"root", crypto::Base64UrlEncode(sig.root)},
                                     {"sig", crypto::Base64UrlEncode(sig.signature)}};
    const std::string text = SerializeBatchSignature(sig);
    EXPECT_EQ(text, crypto::Base64UrlEncode(crypto::AsBytes(expected.dump()))) << kid;
    auto parsed = ParseBatchSignature(text);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(*parsed, sig);
  }
}

TEST(BatchSignerTest, OddBatchVerifiesEveryLeaf) {
  auto key = NewKey();
  auto sigs = SignBatchOf(key, 7);
  for (int i = 0; i < 7; ++i) {
    const auto& sig = sigs[static_cast<size_t>(i)];
    EXPECT_EQ(sig.leaf_count, 7U);
    EXPECT_EQ(sig.root, sigs[0].root);
    EXPECT_TRUE(VerifyBatchSignature(DigestOf(i), sig, key.Public()).ok()) << i;
  }
}

using VerifyFn = std::function<Status(const crypto::Sha256Digest&, const BatchSignature&,
                                      const crypto::PublicKey&)>;

// Every change to a message or its signature fails `verify`, which has seen the genuine
// signatures of `sigs` (a batch of 5 by `key`) verify.
void ExpectTamperingFails(const VerifyFn& verify, const crypto::SigningKey& key,
                          const std::vector<BatchSignature>& sigs) {
  // Leaves are in arrival order; find which message took which leaf.
  std::vector<crypto::Sha256Digest> at_leaf(5);
  for (int i = 0; i < 5; ++i) {
    at_leaf[sigs[static_cast<size_t>(i)].leaf_index] = DigestOf(i);
  }
  // Leaf 1 has a sibling at every level: [0,1] [01,23] [0123,4].
  const auto digest = at_leaf[1];
  BatchSignature good;
  for (const auto& s : sigs) {
    if (s.leaf_index == 1) {
      good = s;
    }
  }
  ASSERT_TRUE(verify(digest, good, key.Public()).ok());
  // The same signature over the same root, but another signing time or batch size (what a
  // verifier that remembered roots alone would accept unchecked).

  auto other_digest = digest;
  other_digest[0] ^= 1;
  EXPECT_FALSE(verify(other_digest, good, key.Public()).ok());

  auto bad = good;
  bad.audit_path[1][5] ^= 1;
  EXPECT_FALSE(verify(digest, bad, key.Public()).ok());

  bad = good;
  bad.audit_path.pop_back();
  EXPECT_FALSE(verify(digest, bad, key.Public()).ok());

  bad = good;
  bad.leaf_index = 0;
  EXPECT_FALSE(verify(digest, bad, key.Public()).ok());

  bad = good;
  bad.root[31] ^= 1;
  EXPECT_FALSE(verify(digest, bad, key.Public()).ok());

  bad = good;
  bad.signature[10] ^= 1;
  EXPECT_FALSE(verify(digest, bad, key.Public()).ok());

  bad = good;
  bad.signed_at += std::chrono::seconds(1);
  EXPECT_FALSE(verify(digest, bad, key.Public()).ok());

  bad = good;
  bad.leaf_count = 6;
  EXPECT_FALSE(verify(digest, bad, key.Public()).ok());

  // A leaf hash cannot pass as an inner node: the digest of leaves 0 and 1 as one message.
  bad = good;
  bad.leaf_index = 0;
  bad.leaf_count = 3;
  bad.audit_path = {good.audit_path[1], good.audit_path[2]};
  EXPECT_FALSE(verify(MerkleNodeHash(MerkleLeafHash(at_leaf[0]), MerkleLeafHash(at_leaf[1])), bad,
                      key.Public())
                   .ok());
}

TEST(BatchSignerTest, TamperingFails) {
  auto key = NewKey();
  ExpectTamperingFails(VerifyBatchSignature, key, SignBatchOf(key, 5));
}

TEST(BatchVerifierTest, ABatchCostsOneCheckAndTamperingStillFails) {
  auto key = NewKey();
  auto sigs = SignBatchOf(key, 5);
  BatchVerifier verifier;
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(verifier.Verify(DigestOf(i), sigs[static_cast<size_t>(i)], key.Public()).ok());
  }
  EXPECT_EQ(verifier.stats().verified, 1U);
  EXPECT_EQ(verifier.stats().remembered, 4U);
  // With the genuine root remembered, every forgery over it is still refused.
  ExpectTamperingFails([&](const crypto::Sha256Digest& d, const BatchSignature& s,
                           const crypto::PublicKey& k) { return verifier.Verify(d, s, k); },
                       key, sigs);
  // So is the genuine signature presented under another key that claims the signer's kid.
  auto other = NewKey();
  EXPECT_FALSE(verifier.Verify(DigestOf(0), sigs[0], other.Public().WithKid(key.Kid())).ok());
}

TEST(BatchVerifierTest, ForgetsAtCapacityAndStillVerifies) {
  auto key = NewKey();
  BatchVerifier verifier(2);
  for (int batch = 0; batch < 5; ++batch) {
    auto sigs = SignBatchOf(key, 2);
    EXPECT_TRUE(verifier.Verify(DigestOf(0), sigs[0], key.Public()).ok());
    EXPECT_TRUE(verifier.Verify(DigestOf(1), sigs[1], key.Public()).ok());
  }
  EXPECT_EQ(verifier.stats().verified, 5U);
  EXPECT_EQ(verifier.stats().remembered, 5U);
}

TEST(BatchSignerTest, AnotherKeyFails) {
  auto key = NewKey();
  auto other = NewKey();
  BatchSigner signer(key);
  auto sig = signer.Sign(DigestOf(1));
  ASSERT_TRUE(sig.ok());
  EXPECT_FALSE(VerifyBatchSignature(DigestOf(1), *sig, other.Public()).ok());
  // Even when the other key claims the signer's kid.
  EXPECT_FALSE(VerifyBatchSignature(DigestOf(1), *sig, other.Public().WithKid(key.Kid())).ok());
}

TEST(BatchSignerTest, ParseIsStrict) {
  auto key = NewKey();
  auto sigs = SignBatchOf(key, 3);
  const std::string text = SerializeBatchSignature(sigs[2]);
  auto parsed = ParseBatchSignature(text);
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(*parsed, sigs[2]);

  auto json_of = [](const std::string& s) {
    auto raw = crypto::Base64UrlDecode(s);
    return nlohmann::json::parse(raw->begin(), raw->end());
  };
  auto encode = [](const nlohmann::json& j) {
    return crypto::Base64UrlEncode(crypto::AsBytes(j.dump()));
  };
  const auto j = json_of(text);
  EXPECT_TRUE(ParseBatchSignature(encode(j)).ok());

  auto extra = j;
  extra["x"] = 1;
  EXPECT_FALSE(ParseBatchSignature(encode(extra)).ok());
  auto missing = j;
  missing.erase("kid");
  EXPECT_FALSE(ParseBatchSignature(encode(missing)).ok());
  auto index = j;
  index["i"] = 3;
  EXPECT_FALSE(ParseBatchSignature(encode(index)).ok());
  auto negative = j;
  negative["i"] = -1;
  EXPECT_FALSE(ParseBatchSignature(encode(negative)).ok());
  auto short_root = j;
  short_root["root"] = "AAAA";
  EXPECT_FALSE(ParseBatchSignature(encode(short_root)).ok());
  auto alg = j;
  alg["alg"] = "none";
  EXPECT_FALSE(ParseBatchSignature(encode(alg)).ok());
  auto path_type = j;
  path_type["path"] = "x";
  EXPECT_FALSE(ParseBatchSignature(encode(path_type)).ok());

  // Spaced out is the same JSON but not the canonical spelling.
  EXPECT_FALSE(ParseBatchSignature(crypto::Base64UrlEncode(crypto::AsBytes(j.dump(1)))).ok());
  {
    std::string raw = j.dump();
    raw.replace(raw.find(R"("i":)"), 4, R"("i":0)");
    EXPECT_FALSE(ParseBatchSignature(crypto::Base64UrlEncode(crypto::AsBytes(raw))).ok());
    // Every cut of the canonical text is refused.
    const std::string whole = j.dump();
    for (size_t cut = 0; cut < whole.size(); ++cut) {
      EXPECT_FALSE(
          ParseBatchSignature(crypto::Base64UrlEncode(crypto::AsBytes(whole.substr(0, cut)))).ok())
          << cut;
    }
  }

  // A lone message has no path; a kid that needs escaping in JSON still reads back.
  auto lone = SignBatchOf(key, 1);
  auto lone_parsed = ParseBatchSignature(SerializeBatchSignature(lone[0]));
  ASSERT_TRUE(lone_parsed.ok()) << lone_parsed.error().ToString();
  EXPECT_EQ(*lone_parsed, lone[0]);
  auto odd_kid = sigs[1];
  odd_kid.kid = "key \"one\" \\ \u00e9t\u00e9";
  auto odd_parsed = ParseBatchSignature(SerializeBatchSignature(odd_kid));
  ASSERT_TRUE(odd_parsed.ok()) << odd_parsed.error().ToString();
  EXPECT_EQ(*odd_parsed, odd_kid);

  // Bytes that are not UTF-8 in the kid, in the canonical layout: refused, not thrown.
  {
    std::string raw = j.dump();
    const std::string kid = j["kid"].get<std::string>();
    raw.replace(raw.find(kid), kid.size(), kid + "\xff\xfe");
    EXPECT_FALSE(ParseBatchSignature(crypto::Base64UrlEncode(crypto::AsBytes(raw))).ok());
  }

  EXPECT_FALSE(ParseBatchSignature("").ok());
  EXPECT_FALSE(ParseBatchSignature("not base64!").ok());
  EXPECT_FALSE(ParseBatchSignature(text + "A").ok());
  EXPECT_FALSE(ParseBatchSignature(crypto::Base64UrlEncode(crypto::AsBytes("[1,2]"))).ok());
}

TEST(BatchSignerTest, DigestsHandedInFromOneHandlerFormOneBatch) {
  constexpr int kCount = 100;
  auto key = NewKey();
  BatchSigner signer(key);
  boost::asio::io_context io;
  std::vector<std::optional<Result<BatchSignature>>> sigs(kCount);
  boost::asio::post(io, [&] {
    for (int i = 0; i < kCount; ++i) {
      signer.SignAsync(DigestOf(i), io.get_executor(), [&, i](Result<BatchSignature> sig) {
        sigs[static_cast<size_t>(i)] = std::move(sig);
      });
    }
    // Nothing is signed on the caller's thread, inside SignAsync.
    for (const auto& sig : sigs) EXPECT_FALSE(sig.has_value());
  });
  io.run();
  for (int i = 0; i < kCount; ++i) {
    const auto& sig = sigs[static_cast<size_t>(i)];
    ASSERT_TRUE(sig.has_value()) << i;
    ASSERT_TRUE(sig->ok()) << sig->error().ToString();
    EXPECT_EQ((*sig)->leaf_count, static_cast<uint32_t>(kCount));
    EXPECT_EQ((*sig)->leaf_index, static_cast<uint32_t>(i));
    EXPECT_TRUE(VerifyBatchSignature(DigestOf(i), **sig, key.Public()).ok()) << i;
  }
  EXPECT_EQ(signer.stats().batches, 1U);
  EXPECT_EQ(signer.stats().messages, static_cast<uint64_t>(kCount));
}

TEST(BatchSignerTest, AsyncFromHandlersAndSyncCallersAllVerifyAndShareBatches) {
  constexpr int kHandlers = 20;
  constexpr int kPerHandler = 50;  // 1000 asynchronous digests
  constexpr int kSyncThreads = 2;
  constexpr int kPerSyncThread = 100;
  constexpr int kAsync = kHandlers * kPerHandler;
  auto key = NewKey();
  BatchSigner signer(key);
  std::atomic<int> failures{0};
  std::vector<std::atomic<int>> calls(kAsync);
  Countdown finished;
  {
    IoThreads io(2);
    std::vector<std::thread> sync_callers;
    for (int t = 0; t < kSyncThreads; ++t) {
      sync_callers.emplace_back([&, t] {
        for (int i = 0; i < kPerSyncThread; ++i) {
          const auto digest = DigestOf(100000 + t * kPerSyncThread + i);
          auto sig = signer.Sign(digest);
          if (!sig.ok() || !VerifyBatchSignature(digest, *sig, key.Public()).ok()) ++failures;
        }
      });
    }
    for (int h = 0; h < kHandlers; ++h) {
      boost::asio::post(io.io(), [&, h] {
        for (int i = 0; i < kPerHandler; ++i) {
          const int n = h * kPerHandler + i;
          signer.SignAsync(DigestOf(n), io.io().get_executor(), [&, n](Result<BatchSignature> sig) {
            ++calls[static_cast<size_t>(n)];
            if (!sig.ok() || !VerifyBatchSignature(DigestOf(n), *sig, key.Public()).ok()) {
              ++failures;
            }
            finished.Add();
          });
        }
      });
    }
    for (auto& t : sync_callers) t.join();
    ASSERT_TRUE(finished.WaitFor(kAsync)) << finished.count() << " of " << kAsync;
  }
  EXPECT_EQ(failures.load(), 0);
  for (int n = 0; n < kAsync; ++n) EXPECT_EQ(calls[static_cast<size_t>(n)].load(), 1) << n;
  const auto stats = signer.stats();
  EXPECT_EQ(stats.messages, static_cast<uint64_t>(kAsync + kSyncThreads * kPerSyncThread));
  EXPECT_LT(stats.batches, stats.messages / 10) << "batching did not happen";
}

TEST(BatchSignerTest, ACallbackMaySignAgain) {
  auto key = NewKey();
  BatchSigner signer(key);
  boost::asio::io_context io;
  std::atomic<int> failures{0};
  int chained = 0;
  std::function<void(int)> sign = [&](int n) {
    signer.SignAsync(DigestOf(n), io.get_executor(), [&, n](Result<BatchSignature> sig) {
      if (!sig.ok() || !VerifyBatchSignature(DigestOf(n), *sig, key.Public()).ok()) ++failures;
      // On the leader's own thread: a blocking Sign must not wait for itself.
      auto again = signer.Sign(DigestOf(1000 + n));
      if (!again.ok() || !VerifyBatchSignature(DigestOf(1000 + n), *again, key.Public()).ok()) {
        ++failures;
      }
      ++chained;
      if (n < 9) sign(n + 1);
    });
  };
  sign(0);
  io.run();
  EXPECT_EQ(chained, 10);
  EXPECT_EQ(failures.load(), 0);
}

TEST(BatchSignerTest, ACallbackThatThrowsDoesNotStopTheSigner) {
  auto key = NewKey();
  BatchSigner signer(key);
  boost::asio::io_context io;
  int called = 0;
  signer.SignAsync(DigestOf(1), io.get_executor(),
                   [](Result<BatchSignature>) { throw std::runtime_error("a careless callback"); });
  signer.SignAsync(DigestOf(2), io.get_executor(), [&](Result<BatchSignature> sig) {
    if (sig.ok()) ++called;
  });
  io.run();
  EXPECT_EQ(called, 1);
  EXPECT_TRUE(signer.Sign(DigestOf(3)).ok());
}

TEST(BatchSignerTest, DestructorAfterTheIoContextStopped) {
  auto key = NewKey();
  {
    IoThreads io(2);
    BatchSigner signer(key);
    std::optional<Result<BatchSignature>> sig;
    Countdown finished;
    boost::asio::post(io.io(), [&] {
      signer.SignAsync(DigestOf(1), io.io().get_executor(), [&](Result<BatchSignature> s) {
        sig = std::move(s);
        finished.Add();
      });
    });
    ASSERT_TRUE(finished.WaitFor(1));
    io.Stop();
    ASSERT_TRUE(sig.has_value());
    EXPECT_TRUE(sig->ok());
    // Nothing queued: returns at once.
  }
  {
    boost::asio::io_context io;
    io.stop();
    std::optional<Result<BatchSignature>> sig;
    {
      BatchSigner signer(key);
      // The flush is posted to a stopped io_context and never runs.
      signer.SignAsync(DigestOf(1), io.get_executor(),
                       [&](Result<BatchSignature> s) { sig = std::move(s); });
      EXPECT_FALSE(sig.has_value());
    }
    ASSERT_TRUE(sig.has_value());
    ASSERT_FALSE(sig->ok());
    EXPECT_EQ(sig->error().code, ErrorCode::kUnavailable);
  }
}

}  // namespace
}  // namespace ulus::exchange
