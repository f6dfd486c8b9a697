// The cost of one certificate's PDF: pango shaping and line breaking, the QR code (libqrencode
// and the mask choice), cairo's PDF with its font subsets. The budget is 500 documents per second,
// signing included, on two cores, so a page should stay well under 3 ms on one core. Run:
//   GLIBC_TUNABLES=glibc.malloc.trim_threshold=67108864 build-pdf/src/documents/pdf_benchmark
// A page allocates and frees zlib's 256 KiB of deflate state several times; with glibc's default
// 128 KiB trim threshold the heap may shrink and regrow around each, which on a virtual machine
// can add 2 ms a page (page faults, TLB flushes). Whether it happens depends on the heap's layout,
// so a server should raise the threshold (the tunable above, or mallopt(M_TRIM_THRESHOLD, ...)).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

#include "ulus/documents/pdf.hpp"

namespace ulus::documents {
namespace {

// A compact JWS of `bytes` characters: base64url parts joined by dots, like a signed credential.
std::string JwtLike(size_t bytes) {
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string jwt = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.";
  unsigned state = 12345;
  while (jwt.size() < bytes) {
    state = state * 1103515245U + 12345U;
    jwt += kAlphabet[(state >> 16) % kAlphabet.size()];
    if (jwt.size() == bytes - 87) jwt += '.';
  }
  return jwt;
}

PdfPage MongolianPage() {
  PdfPage page;
  page.language = "mn";
  page.issuer = "Улсын бүртгэлийн ерөнхий газар / General Authority for State Registration";
  page.title = "Оршин суугаа хаягийн тодорхойлолт";
  page.subtitle = "Certificate of residential address";
  page.fields = {
      {"Surname", "Өлзийбаяр"},
      {"Given name", "Түвшинжаргал"},
      {"National ID", "УБ92061512"},
      {"Date of birth", "1992 оны 6 сарын 15"},
      {"Address",
       "Улаанбаатар хот, Сүхбаатар дүүрэг, 1-р хороо, Энхтайвны өргөн чөлөө 15, "
       "Өргөө хотхон, 3-р байр, 42 тоот"},
      {"Registered since", "2018 оны 3 сарын 2"},
      {"Household", "Гэр бүлийн гишүүд: 4 (эхнэр, хоёр хүүхэд, ээж)"},
      {"Purpose", "Банкны зээлийн хүсэлтэд хавсаргах"},
      {"Issued by", "Сүхбаатар дүүргийн иргэний бүртгэлийн хэлтэс"},
      {"Valid until", "2025 оны 12 сарын 31 хүртэл хүчинтэй"},
  };
  page.codes = {{JwtLike(900), "Шалгах: verify.ulus.mn / Verify at verify.ulus.mn"}};
  page.footer =
      "Баримтын дугаар / Document no. 0190b6f2-8c1e-7a3b-9d4e-5f6a7b8c9d0e · Олгосон / Issued "
      "2024-06-01 · Хүчинтэй / Valid until 2025-12-31 · https://verify.ulus.mn";
  return page;
}

PdfPage LaoPage() {
  PdfPage page;
  page.language = "lo";
  page.issuer = "ກະຊວງສາທາລະນະສຸກ / Ministry of Health";
  page.title = "ໃບຢັ້ງຢືນການສັກຢາວັກຊີນ";
  page.subtitle = "Vaccination certificate";
  page.fields = {
      {"ຊື່ ແລະ ນາມສະກຸນ / Name", "ສົມພອນ ພົມມະວົງ"},
      {"ວັນເດືອນປີເກີດ / Date of birth", "12 ມັງກອນ 1988"},
      {"ວັກຊີນ / Vaccine", "Comirnaty (Pfizer-BioNTech)"},
      {"ເຂັມທີ / Dose", "3 / 3"},
      {"ວັນທີສັກ / Date", "15 ກໍລະກົດ 2023"},
      {"ສະຖານທີ່ / Place", "ໂຮງໝໍມິດຕະພາບ, ນະຄອນຫຼວງວຽງຈັນ"},
      {"ປະເທດ / Country", "ສາທາລະນະລັດ ປະຊາທິປະໄຕ ປະຊາຊົນລາວ"},
      {"ຜູ້ອອກ / Issuer", "ກົມປ້ອງກັນພະຍາດ"},
  };
  page.codes = {{"HC1:" + JwtLike(600), "ກວດສອບ / Verify"}};
  page.footer = "ເລກທີ / No. 0190b6f2-8c1e-7a3b-9d4e-5f6a7b8c9d0e · 2023-07-15";
  return page;
}

void Render(benchmark::State& state, const PdfPage& page) {
  size_t bytes = 0;
  for (auto _ : state) {
    auto pdf = RenderPdf(page);
    if (!pdf.ok()) {
      state.SkipWithError(pdf.error().message.c_str());
      return;
    }
    bytes = pdf->size();
    benchmark::DoNotOptimize(pdf);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["pdf_bytes"] =
      benchmark::Counter(static_cast<double>(bytes), benchmark::Counter::kAvgThreads);
}

void BM_RenderMongolian(benchmark::State& state) {
  const PdfPage page = MongolianPage();
  Render(state, page);
}
BENCHMARK(BM_RenderMongolian)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RenderMongolian)->Unit(benchmark::kMicrosecond)->Threads(2)->UseRealTime();

void BM_RenderLao(benchmark::State& state) {
  const PdfPage page = LaoPage();
  Render(state, page);
}
BENCHMARK(BM_RenderLao)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace ulus::documents

BENCHMARK_MAIN();
