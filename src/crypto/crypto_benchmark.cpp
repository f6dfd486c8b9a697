// The signing, verification and password-hashing costs behind Dan's logins and tokens. Compare
// ES256 with `openssl speed ecdsap256` and RS256 with `openssl speed rsa2048`: our wrappers add
// the JOSE signature conversion and a context per call on top of OpenSSL.
#include <benchmark/benchmark.h>

#include "ulus/crypto/encoding.hpp"
#include "ulus/crypto/jose.hpp"
#include "ulus/crypto/keys.hpp"
#include "ulus/crypto/password.hpp"

namespace ulus::crypto {
namespace {

// About the size of the signing input of an ID token.
constexpr size_t kMessageBytes = 600;
std::string Message() {
  std::string message(kMessageBytes, 'x');
  return message;
}

SigningKey Key(SignatureAlg alg) {
  auto key = SigningKey::Generate(alg);
  if (!key.ok()) std::abort();
  return std::move(key).value();
}

void BM_Sign(benchmark::State& state, SignatureAlg alg) {
  const SigningKey key = Key(alg);
  const std::string message = Message();
  for (auto _ : state) benchmark::DoNotOptimize(key.Sign(AsBytes(message)));
  state.SetItemsProcessed(state.iterations());
}

void BM_Verify(benchmark::State& state, SignatureAlg alg) {
  const SigningKey key = Key(alg);
  const std::string message = Message();
  const auto sig = key.Sign(AsBytes(message)).value();
  for (auto _ : state) {
    benchmark::DoNotOptimize(key.Public().Verify(alg, AsBytes(message), sig));
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK_CAPTURE(BM_Sign, ES256, SignatureAlg::kEs256);
BENCHMARK_CAPTURE(BM_Verify, ES256, SignatureAlg::kEs256);
BENCHMARK_CAPTURE(BM_Sign, RS256, SignatureAlg::kRs256);
BENCHMARK_CAPTURE(BM_Verify, RS256, SignatureAlg::kRs256);
BENCHMARK_CAPTURE(BM_Sign, EdDSA, SignatureAlg::kEdDsa);
BENCHMARK_CAPTURE(BM_Verify, EdDSA, SignatureAlg::kEdDsa);

// A typical ID token: sign, then verify with issuer, audience and expiry checks.
void BM_JwtSignAndVerify(benchmark::State& state, SignatureAlg alg) {
  const SigningKey key = Key(alg);
  JwkSet keys;
  if (!keys.Add(key.Public()).ok()) std::abort();
  JwtPolicy policy;
  policy.issuer = "https://dan.ulus.example";
  policy.audience = "registry";
  const nlohmann::json claims = {{"iss", "https://dan.ulus.example"},
                                 {"aud", "registry"},
                                 {"sub", "0194d3c2-7b1e-7c3a-9f00-5b1f0c2a9e11"},
                                 {"acr", "urn:ulus:loa:high"},
                                 {"amr", {"pwd", "otp"}},
                                 {"iat", 1893456000},
                                 {"exp", 4102444800}};
  for (auto _ : state) {
    const auto token = SignJwt(nullptr, claims, key);
    benchmark::DoNotOptimize(VerifyJwt(token.value(), keys, policy));
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK_CAPTURE(BM_JwtSignAndVerify, ES256, SignatureAlg::kEs256);
BENCHMARK_CAPTURE(BM_JwtSignAndVerify, RS256, SignatureAlg::kRs256);
BENCHMARK_CAPTURE(BM_JwtSignAndVerify, EdDSA, SignatureAlg::kEdDsa);

// With two threads, each thread's time per hash is shown; a 2-core node's rate is 2 / that time.
void BM_Argon2idHashDefaultCost(benchmark::State& state) {
  const PasswordHasher hasher;
  for (auto _ : state) benchmark::DoNotOptimize(hasher.Hash("correct horse battery staple"));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Argon2idHashDefaultCost)->Unit(benchmark::kMillisecond)->UseRealTime()->Threads(1);
BENCHMARK(BM_Argon2idHashDefaultCost)->Unit(benchmark::kMillisecond)->UseRealTime()->Threads(2);

// OWASP's minimum (19 MiB, t = 2), for comparison with the default.
void BM_Argon2idHashOwaspMinimum(benchmark::State& state) {
  const auto hasher = PasswordHasher::Create({2, 19ULL * 1024 * 1024}).value();
  for (auto _ : state) benchmark::DoNotOptimize(hasher.Hash("correct horse battery staple"));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Argon2idHashOwaspMinimum)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace ulus::crypto

BENCHMARK_MAIN();
