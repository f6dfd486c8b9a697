// Reads the rendered PDFs back the way a person or a verifier would: poppler's pdfinfo, pdftotext
// and pdffonts, and a 200 dpi raster scanned by zbarimg. A case skips only when its tool is
// missing (Debian: poppler-utils, zbar-tools).
#include "ulus/documents/pdf.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace ulus::documents {
namespace {

namespace fs = std::filesystem;

struct CommandOutput {
  int exit_code = -1;
  std::string out;
};

CommandOutput RunCommand(const std::string& command) {
  CommandOutput result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n = 0;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.out.append(buffer, n);
  const int status = pclose(pipe);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

bool HaveTool(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

#define REQUIRE_TOOL(name) \
  if (!HaveTool(name)) GTEST_SKIP() << (name) << " is not installed"

// A compact JWS of `bytes` characters: base64url parts joined by dots, like a signed credential.
std::string JwtLike(size_t bytes) {
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string jwt = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.";
  unsigned state = 7;
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
      {"Address",
       "Улаанбаатар хот, Сүхбаатар дүүрэг, 1-р хороо, Энхтайвны өргөн чөлөө 15, "
       "Өргөө хотхон, 3-р байр, 42 тоот, орцны код 1234, утас 7011-2233, шуудангийн "
       "хайрцаг 1520, Монгол Улс"},
      {"Previous country", "Қазақстан, Жаңаөзен, Әлімжан көшесі 7"},
  };
  page.codes = {{JwtLike(900), "Шалгах / Verify"}};
  page.footer = "Document no. 0190b6f2-8c1e-7a3b-9d4e-5f6a7b8c9d0e · Issued 2024-06-01";
  return page;
}

PdfPage LaoPage() {
  PdfPage page;
  page.language = "lo";
  page.issuer = "ກະຊວງສາທາລະນະສຸກ / Ministry of Health";
  page.title = "ໃບຢັ້ງຢືນການສັກຢາວັກຊີນ";
  page.subtitle = "Vaccination certificate";
  page.fields = {
      {"ພາສາ / Language", "ພາສາລາວ"},
      {"ຊື່ / Name", "ສົມພອນ ພົມມະວົງ"},
  };
  page.codes = {{"HC1:NCFOXN%TS3DH", "ກວດສອບ / Verify"}};
  page.footer = "ເລກທີ / No. 42";
  return page;
}

class PdfTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "ulus-pdf-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  // Writes `pdf` into the temporary folder and returns its quoted path for a shell command.
  std::string Save(const std::string& pdf, const std::string& name = "page.pdf") {
    const fs::path path = dir_ / name;
    std::ofstream out(path, std::ios::binary);
    out << pdf;
    return "'" + path.string() + "'";
  }

  std::string Render(const PdfPage& page) {
    auto pdf = RenderPdf(page);
    EXPECT_TRUE(pdf.ok()) << (pdf.ok() ? "" : pdf.error().ToString());
    return pdf.ok() ? std::move(pdf).value() : std::string();
  }

  int Pages(const std::string& file) {
    const CommandOutput info = RunCommand("pdfinfo " + file + " 2>&1");
    EXPECT_EQ(info.exit_code, 0) << info.out;
    const size_t at = info.out.find("Pages:");
    if (at == std::string::npos) return -1;
    return std::atoi(info.out.c_str() + at + 6);
  }

  std::string Text(const std::string& file) {
    const CommandOutput text = RunCommand("pdftotext -enc UTF-8 " + file + " - 2>&1");
    EXPECT_EQ(text.exit_code, 0) << text.out;
    return text.out;
  }

  // The codes zbarimg finds on page 1 rendered at 200 dpi, one per line as zbarimg prints them.
  std::string Scan(const std::string& file) {
    const std::string prefix = "'" + (dir_ / "scan").string() + "'";
    const CommandOutput raster =
        RunCommand("pdftoppm -r 200 -f 1 -l 1 -png " + file + " " + prefix);
    EXPECT_EQ(raster.exit_code, 0);
    std::string png;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      if (entry.path().extension() == ".png") png = entry.path().string();
    }
    EXPECT_FALSE(png.empty());
    const CommandOutput scan = RunCommand("zbarimg --raw -q '" + png + "' 2>/dev/null");
    EXPECT_EQ(scan.exit_code, 0) << "no QR code found";
    return scan.out;
  }

  fs::path dir_;
};

TEST_F(PdfTest, IsOneA4Page) {
  REQUIRE_TOOL("pdfinfo");
  const std::string pdf = Render(MongolianPage());
  ASSERT_TRUE(pdf.starts_with("%PDF-"));
  const std::string file = Save(pdf);
  EXPECT_EQ(Pages(file), 1);
  const CommandOutput info = RunCommand("pdfinfo " + file);
  EXPECT_NE(info.out.find("(A4)"), std::string::npos) << info.out;
}

TEST_F(PdfTest, CyrillicAndLatinTextIsExtractedExactly) {
  REQUIRE_TOOL("pdftotext");
  const std::string text = Text(Save(Render(MongolianPage())));
  for (const char* expected :
       {"Оршин суугаа хаягийн тодорхойлолт", "Certificate of residential address",
        "Улсын бүртгэлийн ерөнхий газар", "Өлзийбаяр", "Түвшинжаргал", "Қазақстан", "Жаңаөзен",
        "Әлімжан", "Шалгах / Verify", "0190b6f2-8c1e-7a3b-9d4e-5f6a7b8c9d0e"}) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << " missing from:\n" << text;
  }
}

TEST_F(PdfTest, LongValuesWrapWithoutAddedHyphens) {
  REQUIRE_TOOL("pdftotext");
  PdfPage page = MongolianPage();
  std::string token;
  for (int i = 0; i < 12; ++i) token += "eyJhbGciOiJFUzI1NiJ9";
  page.fields.push_back({"Token", token});
  std::string text = Text(Save(Render(page)));
  std::erase(text, '\n');
  EXPECT_NE(text.find(token), std::string::npos) << text;
}

TEST_F(PdfTest, LaoTextIsExtractedExactly) {
  REQUIRE_TOOL("pdftotext");
  const std::string text = Text(Save(Render(LaoPage())));
  for (const char* expected :
       {"ພາສາລາວ", "ໃບຢັ້ງຢືນການສັກຢາວັກຊີນ", "ສົມພອນ ພົມມະວົງ", "Vaccination certificate"}) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << " missing from:\n" << text;
  }
}

TEST_F(PdfTest, LaoPageIsOnePage) {
  REQUIRE_TOOL("pdfinfo");
  EXPECT_EQ(Pages(Save(Render(LaoPage()))), 1);
}

TEST_F(PdfTest, EmbedsNotoFonts) {
  REQUIRE_TOOL("pdffonts");
  const CommandOutput fonts = RunCommand("pdffonts " + Save(Render(LaoPage())));
  ASSERT_EQ(fonts.exit_code, 0);
  EXPECT_NE(fonts.out.find("NotoSans-Regular"), std::string::npos) << fonts.out;
  EXPECT_NE(fonts.out.find("NotoSansLao-"), std::string::npos) << fonts.out;
  // Every font is embedded: pdffonts' "emb" column, after the name, type and encoding.
  size_t lines = 0;
  std::istringstream rows(fonts.out);
  std::string row;
  std::getline(rows, row);  // the header
  std::getline(rows, row);  // the dashes
  while (std::getline(rows, row)) {
    if (row.empty()) continue;
    ++lines;
    EXPECT_NE(row.find("Noto"), std::string::npos) << row;
    EXPECT_NE(row.find(" yes yes "), std::string::npos) << "not embedded as a subset: " << row;
  }
  EXPECT_GE(lines, 2U);
}

TEST_F(PdfTest, JwtSizedQrCodeScansToThePayload) {
  REQUIRE_TOOL("pdftoppm");
  REQUIRE_TOOL("zbarimg");
  const PdfPage page = MongolianPage();
  ASSERT_EQ(page.codes[0].payload.size(), 900U);
  EXPECT_EQ(Scan(Save(Render(page))), page.codes[0].payload + "\n");
}

TEST_F(PdfTest, CyrillicQrCodeScansToThePayload) {
  REQUIRE_TOOL("pdftoppm");
  REQUIRE_TOOL("zbarimg");
  PdfPage page = MongolianPage();
  page.codes = {{"Өлзийбаяр Түвшинжаргал, Улаанбаатар хот, Қазақстан", "Нэр / Name"}};
  EXPECT_EQ(Scan(Save(Render(page))), page.codes[0].payload + "\n");
}

TEST_F(PdfTest, TwoLargeQrCodesSideBySideBothScan) {
  REQUIRE_TOOL("pdftoppm");
  REQUIRE_TOOL("zbarimg");
  PdfPage page = MongolianPage();
  std::string dcc = "HC1:";
  for (int i = 0; dcc.size() < 700; ++i) dcc += "6BFOXN*TS0BI$ZD4N9:9S6RCVN5+O30K3/XIV0W23NTDE";
  page.codes.push_back({dcc, "EU DCC"});
  const std::string scanned = Scan(Save(Render(page)));
  EXPECT_NE(scanned.find(page.codes[0].payload + "\n"), std::string::npos) << scanned;
  EXPECT_NE(scanned.find(page.codes[1].payload + "\n"), std::string::npos) << scanned;
  EXPECT_EQ(scanned.size(), page.codes[0].payload.size() + page.codes[1].payload.size() + 2);
}

TEST_F(PdfTest, OversizePayloadIsRefused) {
  PdfPage page = MongolianPage();
  page.codes = {{std::string(5000, 'A'), "Too much"}};
  auto pdf = RenderPdf(page);
  ASSERT_FALSE(pdf.ok());
  EXPECT_EQ(pdf.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(pdf.error().field, "codes/0/payload");
}

TEST_F(PdfTest, ThreeCodesAreRefused) {
  PdfPage page = LaoPage();
  page.codes.resize(3, page.codes[0]);
  auto pdf = RenderPdf(page);
  ASSERT_FALSE(pdf.ok());
  EXPECT_EQ(pdf.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(PdfTest, InvalidUtf8IsRefused) {
  PdfPage page = MongolianPage();
  page.fields[1].value = "Т\xff";
  auto pdf = RenderPdf(page);
  ASSERT_FALSE(pdf.ok());
  EXPECT_EQ(pdf.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(pdf.error().field, "fields/1/value");
}

TEST_F(PdfTest, FieldsThatOverflowContinueOnASecondPage) {
  REQUIRE_TOOL("pdftotext");
  REQUIRE_TOOL("pdfinfo");
  PdfPage page = MongolianPage();
  for (int i = 0; i < 30; ++i) {
    page.fields.push_back({"Row " + std::to_string(i), "Мөр " + std::to_string(i)});
  }
  const std::string file = Save(Render(page));
  EXPECT_EQ(Pages(file), 2);
  const std::string text = Text(file);
  EXPECT_NE(text.find("Row 0"), std::string::npos);
  EXPECT_NE(text.find("Мөр 29"), std::string::npos) << text;
  EXPECT_NE(text.find("1/2"), std::string::npos);
  EXPECT_NE(text.find("2/2"), std::string::npos);
}

TEST_F(PdfTest, AFieldLongerThanAPageIsRefused) {
  PdfPage page = LaoPage();
  std::string value;
  for (int i = 0; i < 800; ++i) value += "Өргөн чөлөө ";
  page.fields.push_back({"Note", value});
  auto pdf = RenderPdf(page);
  ASSERT_FALSE(pdf.ok());
  EXPECT_EQ(pdf.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(pdf.error().field, "fields/2/value");
}

TEST_F(PdfTest, ConcurrentRendersGiveValidPdfs) {
  REQUIRE_TOOL("pdftotext");
  constexpr int kThreads = 8;
  constexpr int kRendersPerThread = 10;
  std::vector<std::string> last(kThreads);
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      PdfPage page = t % 2 == 0 ? MongolianPage() : LaoPage();
      page.fields.push_back({"Thread", "Урсгал " + std::to_string(t)});
      for (int i = 0; i < kRendersPerThread; ++i) {
        auto pdf = RenderPdf(page);
        if (!pdf.ok() || !pdf->starts_with("%PDF-") || !pdf->ends_with("%%EOF\n")) {
          ++failures[static_cast<size_t>(t)];
          continue;
        }
        last[static_cast<size_t>(t)] = std::move(pdf).value();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (size_t t = 0; t < kThreads; ++t) {
    EXPECT_EQ(failures[t], 0) << "thread " << t;
    const std::string text = Text(Save(last[t], "thread" + std::to_string(t) + ".pdf"));
    EXPECT_NE(text.find("Урсгал " + std::to_string(t)), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace ulus::documents
