#include "ulus/services/catalogue.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "generated_catalogue.hpp"

namespace ulus::services {
namespace {

const std::filesystem::path kPacks = ULUS_PACKS_DIR;

std::vector<std::string> PackAgencies(const std::string& pack) {
  // The agencies the pack's service files name; Build checks them against this list.
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(kPacks / pack / "services")) {
    std::string code = entry.path().stem().string();
    for (auto& c : code) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    out.push_back(code);
  }
  return out;
}

std::unique_ptr<Catalogue> PackCatalogue(const std::string& pack) {
  auto services = LoadServices(kPacks / pack);
  EXPECT_TRUE(services.ok()) << services.error().ToString();
  auto events = LoadLifeEvents(kPacks / pack);
  EXPECT_TRUE(events.ok()) << events.error().ToString();
  auto catalogue = Catalogue::Build(*services, *events, PackAgencies(pack));
  EXPECT_TRUE(catalogue.ok()) << catalogue.error().ToString();
  return catalogue.ok() ? std::move(*catalogue) : nullptr;
}

std::vector<std::string> Ids(const CataloguePage& page) {
  std::vector<std::string> out;
  for (const auto& hit : page.hits) out.push_back(hit.service->id);
  return out;
}

TEST(SearchWords, FoldCaseAndAccentsInEveryScript) {
  EXPECT_EQ(SearchWords("Оршин СУУГАА хаягийн"),
            (std::vector<std::string>{"оршин", "суугаа", "хаягиин"}));  // й is и with a breve
  EXPECT_EQ(SearchWords("ЁЛКА, Café-crème!"), (std::vector<std::string>{"елка", "cafe", "creme"}));
  EXPECT_EQ(SearchWords("ҚАЗАҚСТАН Өргөдөл Үйлчилгээ"),
            (std::vector<std::string>{"қазақстан", "өргөдөл", "үилчилгээ"}));
  // Lao has no spaces between words; ICU's dictionary finds them.
  EXPECT_EQ(SearchWords("ພາສາລາວ").size(), 2U);
}

TEST(Catalogue, MongoliaShipsTheCoreServices) {
  auto catalogue = PackCatalogue("mn");
  ASSERT_NE(catalogue, nullptr);
  EXPECT_GE(catalogue->services().size(), 40U);
  std::set<std::string> agencies;
  for (const auto& s : catalogue->services()) agencies.insert(s.agency);
  EXPECT_GE(agencies.size(), 6U);
  for (const auto& e : catalogue->life_events()) {
    EXPECT_GE(catalogue->Search({.life_event = e.id}).total, 1U) << e.id;
  }
  auto kz = PackCatalogue("kz");
  ASSERT_NE(kz, nullptr);
  EXPECT_GE(kz->services().size(), 12U);
}

TEST(Catalogue, FindsByWordsInAnyLanguageCaseAndPrefix) {
  auto catalogue = PackCatalogue("mn");
  ASSERT_NE(catalogue, nullptr);
  for (const std::string text :
       {"хаяг", "ХАЯГИЙН ТОДОРХОЙЛОЛТ", "оршин суу", "address reference", "ADDRESS"}) {
    const auto page = catalogue->Search({.text = text});
    ASSERT_FALSE(page.hits.empty()) << text;
    const auto ids = Ids(page);
    EXPECT_NE(std::find(ids.begin(), ids.end(), "address-reference"), ids.end()) << text;
  }
  EXPECT_EQ(catalogue->Search({.text = "хаяг"}).hits[0].service->id, "address-reference");
  // Every word must match.
  EXPECT_EQ(catalogue->Search({.text = "хаяг шүдний"}).total, 0U);
  EXPECT_EQ(catalogue->Search({.text = "zzzz"}).total, 0U);
}

TEST(Catalogue, FiltersByAgencyAndLifeEventAndPages) {
  auto catalogue = PackCatalogue("mn");
  ASSERT_NE(catalogue, nullptr);
  const auto gasr = catalogue->Search({.agency = "GASR", .limit = 200});
  ASSERT_GT(gasr.total, 0U);
  for (const auto& hit : gasr.hits) EXPECT_EQ(hit.service->agency, "GASR");
  const auto moving = catalogue->Search({.life_event = "moving-house", .limit = 200});
  ASSERT_GT(moving.total, 0U);
  for (const auto& hit : moving.hits) {
    const auto& events = hit.service->life_events;
    EXPECT_NE(std::find(events.begin(), events.end(), "moving-house"), events.end());
  }
  const auto all = catalogue->Search({.limit = 5});
  EXPECT_EQ(all.hits.size(), 5U);
  EXPECT_EQ(all.total, catalogue->services().size());
  const auto next = catalogue->Search({.limit = 5, .offset = 5});
  EXPECT_NE(all.hits[0].service, next.hits[0].service);
}

TEST(Catalogue, RefusesBrokenReferences) {
  ServiceDefinition s{.id = "x", .agency = "NOPE", .title = {{"en", "X"}}};
  EXPECT_FALSE(Catalogue::Build({s}, {}, {"GASR"}).ok());
  s.agency = "GASR";
  s.life_events = {"no-such-event"};
  EXPECT_FALSE(Catalogue::Build({s}, {}, {"GASR"}).ok());
  s.life_events.clear();
  EXPECT_FALSE(Catalogue::Build({s, s}, {}, {"GASR"}).ok());
  EXPECT_TRUE(Catalogue::Build({s}, {}, {"GASR"}).ok());
}

TEST(Catalogue, HoldsEMongoliasFullSize) {
  auto real = LoadServices(kPacks / "mn");
  ASSERT_TRUE(real.ok());
  auto events = LoadLifeEvents(kPacks / "mn");
  auto catalogue =
      Catalogue::Build(testing::GenerateServices(*real), *events, testing::GeneratedAgencies());
  ASSERT_TRUE(catalogue.ok()) << catalogue.error().ToString();
  EXPECT_EQ((*catalogue)->services().size(), testing::kGeneratedServices);
  // The copy numbered n of the address reference is found by a word of its title and its number.
  size_t first = 0;
  while ((*real)[first].id != "address-reference") ++first;
  const size_t n = first + real->size() * 15;
  const auto page = (*catalogue)->Search({.text = "хаяг " + std::to_string(n)});
  ASSERT_EQ(page.total, 1U);
  EXPECT_EQ(page.hits[0].service->id, "address-reference-" + std::to_string(n));
}

}  // namespace
}  // namespace ulus::services
