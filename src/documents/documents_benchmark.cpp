// Issuing and verifying documents on one machine, for docs/performance.md (bench/documents.sh
// runs it beside `openssl speed ecdsap256`):
//   BM_SignCredential      the W3C credential signed ES256 (no PDF)
//   BM_IssueWithPdf        credential signed + one-page PDF with its QR code
//   BM_VerifyCredential    the offline verifier on a credential: parse, trust list, ES256, dates
//   BM_RawEs256Verify      one ES256 verification through the same key object, for the ratio
#include <benchmark/benchmark.h>

#include "ulus/core/id.hpp"
#include "ulus/crypto/encoding.hpp"
#include "ulus/documents/credential.hpp"
#include "ulus/documents/dcc.hpp"
#include "ulus/documents/pdf.hpp"
#include "ulus/documents/verifier.hpp"

namespace ulus::documents {
namespace {

using nlohmann::json;

const crypto::SigningKey& Key() {
  static const crypto::SigningKey key =
      crypto::SigningKey::Generate(crypto::SignatureAlg::kEs256).value();
  return key;
}

Credential Sample() {
  Credential c;
  c.id = NewUuidV7();
  c.issuer = "https://ulus.gov.mn/documents/agencies/GASR";
  c.holder = "urn:ulus:mn:person:УБ90010112";
  c.type = "UlusAddressReference";
  c.name = "Оршин суугаа хаягийн тодорхойлолт";
  c.issued_at = Clock::System().Now() - std::chrono::hours(1);
  c.expires_at = c.issued_at + std::chrono::days(30);
  c.subject = {{"national_id", "УБ90010112"},
               {"family_name", "Батболд"},
               {"given_name", "Өлзий-Орших"},
               {"birth_date", "1990-01-01"},
               {"address", "Улаанбаатар, Сүхбаатар дүүрэг, 1-р хороо, 12-р байр, 34 тоот"},
               {"region", "Улаанбаатар"},
               {"registered_since", "2015-06-01"}};
  c.status_url = "https://ulus.gov.mn/documents/v1/status/" + c.id;
  return c;
}

PdfPage Page(const Credential& c, std::string jwt) {
  PdfPage page;
  page.language = "mn";
  page.issuer = "Улсын бүртгэлийн ерөнхий газар";
  page.title = c.name;
  page.subtitle = "Reference of registered address";
  for (const auto& [name, value] : c.subject.items()) {
    page.fields.push_back({.label = name, .value = value.get<std::string>()});
  }
  page.codes.push_back({.payload = std::move(jwt), .caption = "https://ulus.gov.mn/verify"});
  page.footer = c.id + " · https://ulus.gov.mn/verify";
  return page;
}

void BM_SignCredential(benchmark::State& state) {
  const Credential c = Sample();
  for (auto _ : state) {
    auto jwt = SignCredential(c, Key());
    benchmark::DoNotOptimize(jwt);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SignCredential)->Threads(1)->Threads(2)->UseRealTime();

void BM_IssueWithPdf(benchmark::State& state) {
  const Credential c = Sample();
  size_t bytes = 0;
  for (auto _ : state) {
    auto jwt = SignCredential(c, Key());
    auto pdf = RenderPdf(Page(c, std::move(jwt).value()));
    if (!pdf.ok()) state.SkipWithError(pdf.error().message.c_str());
    bytes = pdf->size();
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["pdf_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_IssueWithPdf)->Threads(1)->Threads(2)->UseRealTime();

void BM_VerifyCredential(benchmark::State& state) {
  static const TrustList trust = [] {
    TrustList list;
    list.issuers.push_back({.agency = "GASR",
                            .name = "General Authority for State Registration",
                            .uri = "https://ulus.gov.mn/documents/agencies/GASR",
                            .keys = {{.key = Key().Public(),
                                      .dcc_kid = crypto::Base64Encode(DccKeyId(Key().Public())),
                                      .valid_from = Clock::System().Now() - std::chrono::days(1),
                                      .valid_until = std::nullopt}}});
    return list;
  }();
  const std::string jwt = SignCredential(Sample(), Key()).value();
  Verifier verifier(trust, [](std::string_view) -> Result<std::optional<Revocation>> {
    return std::optional<Revocation>();
  });
  const TimePoint now = Clock::System().Now();
  for (auto _ : state) {
    auto v = verifier.Verify(jwt, now);
    if (!v.ok() || v->verdict != Verdict::kGenuine) state.SkipWithError("not genuine");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_VerifyCredential)->Threads(1)->Threads(2)->UseRealTime();

void BM_RawEs256Verify(benchmark::State& state) {
  const std::string data(32, 'x');
  const auto signature = Key().Sign(crypto::AsBytes(data)).value();
  for (auto _ : state) {
    auto s = Key().Public().Verify(crypto::SignatureAlg::kEs256, crypto::AsBytes(data), signature);
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RawEs256Verify)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace ulus::documents

BENCHMARK_MAIN();
