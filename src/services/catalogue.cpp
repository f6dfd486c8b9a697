#include "ulus/services/catalogue.hpp"

#include <unicode/brkiter.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

namespace ulus::services {

namespace {

// How much a word counts, by where it stands.
constexpr uint8_t kTitleWeight = 4;
constexpr uint8_t kKeywordWeight = 3;
constexpr uint8_t kDescriptionWeight = 1;
constexpr size_t kMaxQueryWords = 16;
constexpr size_t kMaxLimit = 200;

struct Posting {
  uint32_t service;
  uint8_t weight;
};

Error BadFile(const std::filesystem::path& file, std::string message) {
  return Error::InvalidArgument(file.string() + ": " + std::move(message));
}

Translations ReadTranslations(const YAML::Node& node) {
  Translations out;
  if (node.IsScalar()) {
    out["en"] = node.as<std::string>();
  } else if (node.IsMap()) {
    for (const auto& entry : node) {
      out[entry.first.as<std::string>()] = entry.second.as<std::string>();
    }
  }
  return out;
}

std::optional<Applicants> ApplicantsFromName(std::string_view name) {
  if (name == "anyone") return Applicants::kAnyone;
  if (name == "adult") return Applicants::kAdult;
  if (name == "parent") return Applicants::kParent;
  if (name == "owner") return Applicants::kOwner;
  if (name == "pensioner") return Applicants::kPensioner;
  return std::nullopt;
}

}  // namespace

// Terms in sorted order with their postings, so a query word finds every term it begins with by
// one binary search.
struct Catalogue::Index {
  std::map<std::string, uint32_t, std::less<>> by_id;  // every application looks its service up
  std::vector<std::pair<std::string, std::vector<Posting>>> terms;
  std::vector<std::string> sort_keys;  // per service: its first title, folded, for ordering
};

std::vector<std::string> SearchWords(std::string_view text) {
  std::vector<std::string> out;
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfd = icu::Normalizer2::getNFDInstance(status);
  if (U_FAILURE(status)) return out;
  const icu::UnicodeString decomposed =
      nfd->normalize(icu::UnicodeString::fromUTF8(
                         icu::StringPiece(text.data(), static_cast<int32_t>(text.size()))),
                     status);
  if (U_FAILURE(status)) return out;
  icu::UnicodeString folded;
  for (int32_t i = 0; i < decomposed.length();) {
    const UChar32 c = decomposed.char32At(i);
    i += U16_LENGTH(c);
    if (u_charType(c) != U_NON_SPACING_MARK) folded.append(c);
  }
  folded.foldCase();
  // A word iterator per thread: creating one loads ICU's rules, and one is not thread-safe.
  thread_local std::unique_ptr<icu::BreakIterator> words;
  if (!words) {
    words.reset(icu::BreakIterator::createWordInstance(icu::Locale::getRoot(), status));
    if (U_FAILURE(status) || !words) return out;
  }
  words->setText(folded);
  for (int32_t start = words->first(), end = words->next(); end != icu::BreakIterator::DONE;
       start = end, end = words->next()) {
    if (words->getRuleStatus() == UBRK_WORD_NONE) continue;
    std::string word;
    folded.tempSubStringBetween(start, end).toUTF8String(word);
    out.push_back(std::move(word));
  }
  return out;
}

Catalogue::Catalogue(std::vector<ServiceDefinition> services, std::vector<LifeEvent> life_events,
                     std::unique_ptr<Index> index)
    : services_(std::move(services)),
      life_events_(std::move(life_events)),
      index_(std::move(index)) {}

Catalogue::~Catalogue() = default;

Result<std::unique_ptr<Catalogue>> Catalogue::Build(std::vector<ServiceDefinition> services,
                                                    std::vector<LifeEvent> life_events,
                                                    const std::vector<std::string>& agencies) {
  std::set<std::string, std::less<>> events;
  for (const auto& e : life_events) {
    if (!events.insert(e.id).second) {
      return Error::InvalidArgument("life event " + e.id + " is listed twice");
    }
  }
  std::set<std::string, std::less<>> ids;
  for (const auto& s : services) {
    if (!ids.insert(s.id).second) return Error::InvalidArgument("service id " + s.id + " twice");
    if (std::find(agencies.begin(), agencies.end(), s.agency) == agencies.end()) {
      return Error::InvalidArgument("service " + s.id + " names agency " + s.agency +
                                    ", which the pack does not have");
    }
    for (const auto& e : s.life_events) {
      if (!events.contains(e)) {
        return Error::InvalidArgument("service " + s.id + " names unknown life event " + e);
      }
    }
  }
  auto index = std::make_unique<Index>();
  std::map<std::string, std::map<uint32_t, uint8_t>> collected;
  auto add = [&](uint32_t service, std::string_view text, uint8_t weight) {
    for (auto& word : SearchWords(text)) {
      auto& best = collected[std::move(word)][service];
      best = std::max(best, weight);
    }
  };
  for (uint32_t i = 0; i < services.size(); ++i) {
    const auto& s = services[i];
    index->by_id.emplace(s.id, i);
    for (const auto& [lang, text] : s.title) add(i, text, kTitleWeight);
    for (const auto& [lang, words] : s.keywords) {
      for (const auto& w : words) add(i, w, kKeywordWeight);
    }
    for (const auto& [lang, text] : s.description) add(i, text, kDescriptionWeight);
    const auto first = s.title.empty() ? std::string() : s.title.begin()->second;
    const auto key = SearchWords(Translate(s.title, "en"));
    std::string joined;
    for (const auto& w : key) joined += w + " ";
    index->sort_keys.push_back(joined.empty() ? first : joined);
  }
  index->terms.reserve(collected.size());
  for (auto& [term, postings] : collected) {
    std::vector<Posting> list;
    list.reserve(postings.size());
    for (const auto& [service, weight] : postings) list.push_back({service, weight});
    index->terms.emplace_back(term, std::move(list));
  }
  return std::unique_ptr<Catalogue>(
      new Catalogue(std::move(services), std::move(life_events), std::move(index)));
}

CataloguePage Catalogue::Search(const CatalogueQuery& query) const {
  const size_t n = services_.size();
  std::vector<double> score(n, 0);
  std::vector<bool> eligible(n, true);
  for (size_t i = 0; i < n; ++i) {
    const auto& s = services_[i];
    if (!query.agency.empty() && s.agency != query.agency) eligible[i] = false;
    if (!query.life_event.empty() && std::find(s.life_events.begin(), s.life_events.end(),
                                               query.life_event) == s.life_events.end()) {
      eligible[i] = false;
    }
  }
  auto words = SearchWords(query.text);
  if (words.size() > kMaxQueryWords) words.resize(kMaxQueryWords);
  std::vector<uint8_t> best(n);
  for (const auto& word : words) {
    std::fill(best.begin(), best.end(), 0);
    // Every term that starts with the word; a whole-word match counts a little more.
    auto it =
        std::lower_bound(index_->terms.begin(), index_->terms.end(), word,
                         [](const auto& entry, const std::string& w) { return entry.first < w; });
    for (; it != index_->terms.end() && it->first.starts_with(word); ++it) {
      const bool whole = it->first.size() == word.size();
      for (const auto& p : it->second) {
        const auto weight = static_cast<uint8_t>(p.weight * 2 + (whole ? 1 : 0));
        best[p.service] = std::max(best[p.service], weight);
      }
    }
    // Every word must match: a service missing one drops out.
    for (size_t i = 0; i < n; ++i) {
      if (best[i] == 0) {
        eligible[i] = false;
      } else {
        score[i] += best[i];
      }
    }
  }
  std::vector<uint32_t> matches;
  for (uint32_t i = 0; i < n; ++i) {
    if (eligible[i]) matches.push_back(i);
  }
  std::sort(matches.begin(), matches.end(), [&](uint32_t a, uint32_t b) {
    if (score[a] != score[b]) return score[a] > score[b];
    return index_->sort_keys[a] < index_->sort_keys[b];
  });
  CataloguePage page;
  page.total = matches.size();
  const size_t limit = std::min(query.limit, kMaxLimit);
  for (size_t i = query.offset; i < matches.size() && page.hits.size() < limit; ++i) {
    page.hits.push_back({&services_[matches[i]], score[matches[i]]});
  }
  return page;
}

const ServiceDefinition* Catalogue::Find(std::string_view id) const {
  auto it = index_->by_id.find(id);
  return it == index_->by_id.end() ? nullptr : &services_[it->second];
}

const std::vector<ServiceDefinition>& Catalogue::services() const {
  return services_;
}
const std::vector<LifeEvent>& Catalogue::life_events() const {
  return life_events_;
}

Result<std::vector<ServiceDefinition>> LoadServices(const std::filesystem::path& pack_dir) {
  std::vector<ServiceDefinition> out;
  const auto dir = pack_dir / "services";
  if (!std::filesystem::is_directory(dir)) return out;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    try {
      const YAML::Node root = YAML::LoadFile(file.string());
      const auto agency = root["agency"].as<std::string>("");
      if (agency.empty()) return BadFile(file, "agency is required");
      for (const auto& node : root["services"]) {
        ServiceDefinition s;
        s.id = node["id"].as<std::string>("");
        s.agency = agency;
        s.title = ReadTranslations(node["title"]);
        s.description = ReadTranslations(node["description"]);
        if (s.id.empty() || s.title.empty()) return BadFile(file, "a service needs id and title");
        if (const auto keywords = node["keywords"]; keywords && keywords.IsMap()) {
          for (const auto& entry : keywords) {
            s.keywords[entry.first.as<std::string>()] = entry.second.as<std::vector<std::string>>();
          }
        }
        if (node["life_events"]) {
          s.life_events = node["life_events"].as<std::vector<std::string>>();
        }
        const auto applicants = ApplicantsFromName(node["applicants"].as<std::string>("anyone"));
        if (!applicants) return BadFile(file, "service " + s.id + ": unknown applicants");
        s.applicants = *applicants;
        if (node["data"]) s.data = node["data"].as<std::vector<std::string>>();
        const auto workflow = node["workflow"].as<std::string>("automatic");
        if (workflow == "automatic") {
          s.workflow = WorkflowKind::kAutomatic;
        } else if (workflow == "review") {
          s.workflow = WorkflowKind::kReview;
        } else {
          return BadFile(file, "service " + s.id + ": workflow is automatic or review");
        }
        s.deadline_days = node["deadline_days"].as<int>(0);
        s.fee = node["fee"].as<int64_t>(0);
        if (s.deadline_days < 0 || s.deadline_days > 365 || s.fee < 0) {
          return BadFile(file, "service " + s.id + ": deadline_days 0-365, fee not negative");
        }
        s.document = node["document"].as<std::string>("");
        for (const auto& f : node["form"]) {
          FormField field{.name = f["name"].as<std::string>(""),
                          .type = f["type"].as<std::string>("string"),
                          .label = ReadTranslations(f["label"]),
                          .required = f["required"].as<bool>(true),
                          .max_length = f["max_length"].as<size_t>(500)};
          static constexpr std::string_view kTypes[] = {"string", "date", "integer", "boolean"};
          if (field.name.empty() ||
              std::find(std::begin(kTypes), std::end(kTypes), field.type) == std::end(kTypes)) {
            return BadFile(file, "service " + s.id + ": a form field needs a name and a type " +
                                     "of string, date, integer or boolean");
          }
          s.form.push_back(std::move(field));
        }
        if (node["optional_data"]) {
          s.optional_data = node["optional_data"].as<std::vector<std::string>>();
        }
        if (const auto claims = node["claims"]; claims && claims.IsMap()) {
          for (const auto& entry : claims) {
            s.claims[entry.first.as<std::string>()] = entry.second.as<std::string>();
          }
        }
        out.push_back(std::move(s));
      }
    } catch (const YAML::Exception& e) {
      return BadFile(file, e.what());
    }
  }
  return out;
}

Result<std::vector<LifeEvent>> LoadLifeEvents(const std::filesystem::path& pack_dir) {
  std::vector<LifeEvent> out;
  const auto file = pack_dir / "life_events.yaml";
  if (!std::filesystem::exists(file)) return out;
  try {
    const YAML::Node root = YAML::LoadFile(file.string());
    for (const auto& node : root["life_events"]) {
      LifeEvent e{.id = node["id"].as<std::string>(""), .title = ReadTranslations(node["title"])};
      if (e.id.empty() || e.title.empty()) return BadFile(file, "a life event needs id and title");
      out.push_back(std::move(e));
    }
  } catch (const YAML::Exception& e) {
    return BadFile(file, e.what());
  }
  return out;
}

}  // namespace ulus::services
