#include "ulus/documents/pdf.hpp"

#include <cairo-pdf.h>
#include <cairo.h>
#include <glib-object.h>
#include <glib.h>
#include <pango/pangocairo.h>
#include <qrencode.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

// libqrencode exports this since 3.2 (Debian lists it in the library's symbols file) but declares
// it only in its internal header: QRcode_encodeInput is this with mask -1, "try all eight".
// NOLINTNEXTLINE(readability-identifier-naming)
extern "C" QRcode* QRcode_encodeMask(QRinput* input, int mask);

namespace ulus::documents {
namespace {

// Everything is laid out in PDF points (1/72 inch); sizes on paper are given in millimetres.
constexpr double kPointsPerMm = 72.0 / 25.4;
constexpr double Mm(double mm) {
  return mm * kPointsPerMm;
}

constexpr double kPageWidth = Mm(210);
constexpr double kPageHeight = Mm(297);
constexpr double kMargin = Mm(18);
constexpr double kContentWidth = kPageWidth - 2 * kMargin;

constexpr double kLabelWidth = kContentWidth * 0.36;
constexpr double kColumnGap = Mm(4);
constexpr double kValueWidth = kContentWidth - kLabelWidth - kColumnGap;
constexpr double kRowPadding = Mm(1.6);
// Room kept beside the footer for the page number of a document that runs over one page.
constexpr double kPageNumberWidth = Mm(14);

constexpr double kGapAfterIssuer = Mm(2);
constexpr double kGapAfterRule = Mm(4);
constexpr double kGapAfterTitle = Mm(1);
constexpr double kGapAfterHeader = Mm(7);
constexpr double kGapBeforeCodes = Mm(6);
constexpr double kGapBeforeFooter = Mm(5);
constexpr double kGapBetweenCodes = Mm(10);
constexpr double kGapBeforeCaption = Mm(1);

// A module of 0.52 mm puts a 1,000-byte payload (version 26: 121 modules and the quiet zone) at
// 67 mm and a 900-byte one at 63 mm, which phone cameras and a 200 dpi scan read. Small codes are
// drawn at least kMinCodeWidth wide; two large codes side by side shrink to share the width.
constexpr double kModuleSize = Mm(0.52);
constexpr double kMinCodeWidth = Mm(32);
constexpr int kQuietZone = 4;
constexpr size_t kMaxCodes = 2;

// Larger than any text that fits a page; a bound that keeps sizes within pango's int lengths.
constexpr size_t kMaxTextBytes = size_t{64} * 1024;
// More than any QR code holds (2,331 bytes at error correction M); refused before encoding.
constexpr size_t kMaxPayloadBytes = 7089;

// Families in order: Noto Sans covers Latin and Cyrillic; naming Noto Sans Lao keeps the choice
// for Lao independent of the fontconfig sort order (which could prefer Noto Looped Lao or a serif).
// Any other script still falls back through fontconfig.
constexpr const char* kFamilies = "Noto Sans,Noto Sans Lao";

struct Gray {
  double level;
};
constexpr Gray kInk{0.0};
constexpr Gray kSecondaryInk{0.33};
constexpr Gray kRuleInk{0.75};

struct GObjectUnref {
  void operator()(gpointer object) const { g_object_unref(object); }
};
template <typename T>
using GObjectPtr = std::unique_ptr<T, GObjectUnref>;

struct FontDescriptionFree {
  void operator()(PangoFontDescription* description) const {
    pango_font_description_free(description);
  }
};
using FontDescriptionPtr = std::unique_ptr<PangoFontDescription, FontDescriptionFree>;

struct AttrListUnref {
  void operator()(PangoAttrList* list) const { pango_attr_list_unref(list); }
};
using AttrListPtr = std::unique_ptr<PangoAttrList, AttrListUnref>;

struct CairoSurfaceDestroy {
  void operator()(cairo_surface_t* surface) const { cairo_surface_destroy(surface); }
};
struct CairoDestroy {
  void operator()(cairo_t* cr) const { cairo_destroy(cr); }
};
struct CairoFontOptionsDestroy {
  void operator()(cairo_font_options_t* options) const { cairo_font_options_destroy(options); }
};
struct CairoPatternDestroy {
  void operator()(cairo_pattern_t* pattern) const { cairo_pattern_destroy(pattern); }
};
struct QrFree {
  void operator()(QRcode* code) const { QRcode_free(code); }
};
struct QrInputFree {
  void operator()(QRinput* input) const { QRinput_free(input); }
};

// The text styles of a page and their sizes in points. All are the regular weight: each face
// cairo embeds is subset and compressed for every document, and a bold face for the title and
// issuer would add a fifth to the cost of a page.
enum class Style { kIssuer, kTitle, kSubtitle, kLabel, kValue, kCaption, kFooter };
constexpr size_t kStyleCount = 7;
constexpr double kStyleSizes[kStyleCount] = {10.0, 20.0, 11.0, 9.0, 10.5, 8.0, 7.5};

// A thread's own pango font map, context and font descriptions. Pango objects must not be shared
// between threads, and a font map is costly to build (fontconfig matching, loading faces), so
// each thread builds one on first use and keeps it until the thread ends. Not thread-safe: use it
// only through ForThisThread().
class Typesetter {
 public:
  static Result<Typesetter*> ForThisThread() {
    thread_local std::unique_ptr<Typesetter> typesetter;
    if (!typesetter) {
      auto created = std::make_unique<Typesetter>();
      if (!created->context_) return Error::Internal("could not create a pango context");
      typesetter = std::move(created);
    }
    return typesetter.get();
  }

  Typesetter() : font_map_(pango_cairo_font_map_new()) {
    if (!font_map_) return;
    context_.reset(pango_font_map_create_context(font_map_.get()));
    if (!context_) return;
    // Vector output: metrics and positions are not snapped to a pixel grid, and one unit of
    // font size is one PDF point.
    std::unique_ptr<cairo_font_options_t, CairoFontOptionsDestroy> options(
        cairo_font_options_create());
    cairo_font_options_set_hint_metrics(options.get(), CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_hint_style(options.get(), CAIRO_HINT_STYLE_NONE);
    pango_cairo_context_set_font_options(context_.get(), options.get());
    pango_cairo_context_set_resolution(context_.get(), 72.0);
    pango_context_set_round_glyph_positions(context_.get(), FALSE);
    // A value broken inside a word must not gain a hyphen: it would change an identifier or a
    // token for whoever copies it from the page.
    attributes_.reset(pango_attr_list_new());
    pango_attr_list_insert(attributes_.get(), pango_attr_insert_hyphens_new(FALSE));
    for (size_t i = 0; i < kStyleCount; ++i) {
      styles_[i].reset(pango_font_description_new());
      pango_font_description_set_family_static(styles_[i].get(), kFamilies);
      pango_font_description_set_size(styles_[i].get(), pango_units_from_double(kStyleSizes[i]));
    }
  }

  // A layout of `text` wrapped at `width` points, shaped for the language last set.
  GObjectPtr<PangoLayout> Layout(std::string_view text, Style style, double width,
                                 PangoAlignment alignment = PANGO_ALIGN_LEFT) {
    GObjectPtr<PangoLayout> layout(pango_layout_new(context_.get()));
    pango_layout_set_font_description(layout.get(), styles_[static_cast<size_t>(style)].get());
    pango_layout_set_width(layout.get(), pango_units_from_double(width));
    // Long unbroken values (identifiers, URLs) break between characters rather than overflow.
    pango_layout_set_wrap(layout.get(), PANGO_WRAP_WORD_CHAR);
    pango_layout_set_attributes(layout.get(), attributes_.get());
    pango_layout_set_alignment(layout.get(), alignment);
    pango_layout_set_text(layout.get(), text.data(), static_cast<int>(text.size()));
    return layout;
  }

  void SetLanguage(const std::string& tag) {
    PangoLanguage* language =
        tag.empty() ? pango_language_get_default() : pango_language_from_string(tag.c_str());
    if (language != language_) {
      pango_context_set_language(context_.get(), language);
      language_ = language;
    }
  }

 private:
  GObjectPtr<PangoFontMap> font_map_;
  GObjectPtr<PangoContext> context_;
  PangoLanguage* language_ = nullptr;
  FontDescriptionPtr styles_[kStyleCount];
  AttrListPtr attributes_;
};

// A laid-out text and its size in points.
struct Text {
  GObjectPtr<PangoLayout> layout;
  double width = 0;
  double height = 0;
};

Text Measure(GObjectPtr<PangoLayout> layout) {
  int width = 0;
  int height = 0;
  pango_layout_get_size(layout.get(), &width, &height);
  return {std::move(layout), static_cast<double>(width) / PANGO_SCALE,
          static_cast<double>(height) / PANGO_SCALE};
}

Status CheckText(std::string_view text, const std::string& where) {
  if (text.size() > kMaxTextBytes) {
    return Error{ErrorCode::kTooLarge,
                 "the text is longer than " + std::to_string(kMaxTextBytes) + " bytes", where};
  }
  if (!g_utf8_validate_len(text.data(), text.size(), nullptr)) {
    return Error::InvalidArgument("the text is not valid UTF-8", where);
  }
  return Ok();
}

// A QR symbol and its size on the page.
struct QrCode {
  std::unique_ptr<QRcode, QrFree> code;
  double module = 0;  // the side of one module, points
  double side = 0;    // the side of the code with its quiet zone, points
};

// A row or a column of a symbol as bits: module k is bit kLinePad + k, so that the four light
// modules ISO/IEC 18004 assumes around a finder-like pattern exist at the edges too.
constexpr size_t kLinePad = 4;
class ModuleLine {
 public:
  static constexpr size_t kWords = 3;  // the widest symbol (177 modules) and the padding

  void Set(size_t bit) { words_[bit / 64] |= uint64_t{1} << (bit % 64); }
  void Assign(size_t bit, bool dark) {
    const uint64_t one = uint64_t{1} << (bit % 64);
    words_[bit / 64] = dark ? words_[bit / 64] | one : words_[bit / 64] & ~one;
  }
  [[nodiscard]] size_t Count() const {
    size_t count = 0;
    for (uint64_t word : words_) count += static_cast<size_t>(std::popcount(word));
    return count;
  }
  ModuleLine& operator&=(const ModuleLine& other) {
    for (size_t i = 0; i < kWords; ++i) words_[i] &= other.words_[i];
    return *this;
  }
  ModuleLine& operator|=(const ModuleLine& other) {
    for (size_t i = 0; i < kWords; ++i) words_[i] |= other.words_[i];
    return *this;
  }
  ModuleLine& operator^=(const ModuleLine& other) {
    for (size_t i = 0; i < kWords; ++i) words_[i] ^= other.words_[i];
    return *this;
  }
  friend ModuleLine operator&(ModuleLine a, const ModuleLine& b) { return a &= b; }
  friend ModuleLine operator|(ModuleLine a, const ModuleLine& b) { return a |= b; }
  friend ModuleLine operator^(ModuleLine a, const ModuleLine& b) { return a ^= b; }
  ModuleLine operator~() const {
    ModuleLine result;
    for (size_t i = 0; i < kWords; ++i) result.words_[i] = ~words_[i];
    return result;
  }
  // Bit k of the result is bit k + 1 of this line.
  [[nodiscard]] ModuleLine Next() const {
    ModuleLine result;
    for (size_t i = 0; i < kWords; ++i) {
      result.words_[i] = (words_[i] >> 1) | (i + 1 < kWords ? words_[i + 1] << 63 : 0);
    }
    return result;
  }

 private:
  std::array<uint64_t, kWords> words_{};
};
constexpr int kMaskCount = 8;
// Every mask pattern repeats every twelve modules along a row and along a column.
constexpr size_t kMaskPeriod = 12;

// Whether mask pattern `mask` inverts the module in row i, column j (ISO/IEC 18004 table 10).
bool MaskInverts(int mask, size_t i, size_t j) {
  switch (mask) {
    case 0: return (i + j) % 2 == 0;
    case 1: return i % 2 == 0;
    case 2: return j % 3 == 0;
    case 3: return (i + j) % 3 == 0;
    case 4: return (i / 2 + j / 3) % 2 == 0;
    case 5: return (i * j) % 2 + (i * j) % 3 == 0;
    case 6: return ((i * j) % 2 + (i * j) % 3) % 2 == 0;
    default: return ((i + j) % 2 + (i * j) % 3) % 2 == 0;
  }
}

// The 15 format bits for error correction level M and `mask`: BCH(15,5) with the generator
// 0x537, XORed with 0x5412 (ISO/IEC 18004 section 7.9).
unsigned FormatBits(int mask) {
  constexpr unsigned kLevelM = 0;
  const unsigned data = (kLevelM << 3) | static_cast<unsigned>(mask);
  unsigned remainder = data << 10;
  for (int bit = 14; bit >= 10; --bit) {
    if ((remainder >> bit) & 1U) remainder ^= 0x537U << (bit - 10);
  }
  return ((data << 10) | remainder) ^ 0x5412U;
}

struct ModulePosition {
  size_t row;
  size_t column;
};

// Where format bit i goes, twice: beside the top-left finder, and split between the other two.
std::array<std::array<ModulePosition, 15>, 2> FormatPositions(size_t width) {
  std::array<std::array<ModulePosition, 15>, 2> at{};
  for (size_t i = 0; i < 15; ++i) {
    if (i < 6) {
      at[0][i] = {i, 8};
    } else if (i < 8) {
      at[0][i] = {i + 1, 8};
    } else if (i == 8) {
      at[0][i] = {8, 7};
    } else {
      at[0][i] = {8, 14 - i};
    }
    at[1][i] = i < 8 ? ModulePosition{8, width - 1 - i} : ModulePosition{width - 15 + i, 8};
  }
  return at;
}

// Runs of five or more same-coloured modules (N1: 3 points, and 1 for each module more) and
// finder-like patterns 1:1:3:1:1 with four light modules on one side (N3: 40 points each), across
// consecutive lines: rows give the columns' score and columns the rows', every position at once.
size_t CrossingPenalty(std::span<const ModuleLine> lines, const ModuleLine& valid) {
  const ptrdiff_t n = std::ssize(lines);
  size_t penalty = 0;
  ModuleLine previous_five;
  for (ptrdiff_t i = 0; i + 4 < n; ++i) {
    ModuleLine five = valid;
    for (ptrdiff_t k = 0; k < 4; ++k) {
      five &= ~(lines[static_cast<size_t>(i + k)] ^ lines[static_cast<size_t>(i + k + 1)]);
    }
    // A run of m >= 5 holds m - 4 windows of five and starts once: m - 4 + 2 = 3 + (m - 5).
    penalty += five.Count() + 2 * (five & ~previous_five).Count();
    previous_five = five;
  }
  // Lines outside the symbol are light (its quiet zone). core[i]: dark-light-dark-dark-dark-
  // light-dark starts at line i; light[i]: four light modules start at line i.
  const ModuleLine outside;
  const auto line_at = [&](ptrdiff_t i) -> const ModuleLine& {
    return i < 0 || i >= n ? outside : lines[static_cast<size_t>(i)];
  };
  constexpr ptrdiff_t kLight = 4;
  constexpr ptrdiff_t kCore = 7;
  std::vector<ModuleLine> core(static_cast<size_t>(n + 2 * kLight));
  std::vector<ModuleLine> light(static_cast<size_t>(n + 2 * kLight));
  for (ptrdiff_t i = -kLight; i < n + kLight; ++i) {
    const auto at = static_cast<size_t>(i + kLight);
    light[at] = ~(line_at(i) | line_at(i + 1) | line_at(i + 2) | line_at(i + 3)) & valid;
    if (i >= 0 && i + kCore <= n) {
      core[at] = line_at(i) & ~line_at(i + 1) & line_at(i + 2) & line_at(i + 3) & line_at(i + 4) &
                 ~line_at(i + 5) & line_at(i + 6);
    }
  }
  for (ptrdiff_t i = 0; i + kCore <= n; ++i) {
    const auto at = static_cast<size_t>(i + kLight);
    const size_t before = (light[at - kLight] & core[at]).Count();
    const size_t after = (core[at] & light[at + kCore]).Count();
    penalty += 40 * (before + after);
  }
  return penalty;
}

// The penalty score of ISO/IEC 18004 section 7.8.3 of a symbol given as its rows and its columns.
size_t Penalty(std::span<const ModuleLine> rows, std::span<const ModuleLine> columns,
               const ModuleLine& valid) {
  size_t penalty = CrossingPenalty(rows, valid) + CrossingPenalty(columns, valid);
  const ModuleLine valid_pairs = valid & valid.Next();
  size_t blocks = 0;  // same-coloured 2x2 blocks (N2: 3 points each)
  size_t dark = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    dark += rows[i].Count();
    if (i + 1 == rows.size()) break;
    const ModuleLine same_below = ~(rows[i] ^ rows[i + 1]);
    blocks += (same_below & same_below.Next() & ~(rows[i] ^ rows[i].Next()) & valid_pairs).Count();
  }
  penalty += 3 * blocks;
  // N4: 10 points for every 5 % the dark share strays from 50 %.
  const size_t total = rows.size() * rows.size();
  const size_t deviation =
      dark * 100 > total * 50 ? dark * 100 - total * 50 : total * 50 - dark * 100;
  return penalty + 10 * (deviation / (total * 5));
}

// The mask with the lowest penalty, found from one symbol encoded with mask 0 (each other mask
// inverts some data modules and rewrites the format bits): libqrencode's own search encodes and
// scores all eight symbols, which costs more than the rest of a page.
int BestMask(const QRcode& code) {
  const auto w = static_cast<size_t>(code.width);
  ModuleLine valid;
  for (size_t k = 0; k < w; ++k) valid.Set(kLinePad + k);
  // Dark modules, and the modules a mask applies to (not finder, timing, format or version), by
  // row and by column.
  std::vector<ModuleLine> dark_rows(w), data_rows(w), dark_columns(w), data_columns(w);
  for (size_t i = 0; i < w; ++i) {
    for (size_t j = 0; j < w; ++j) {
      const unsigned char module = code.data[i * w + j];
      if ((module & 1) != 0) {
        dark_rows[i].Set(kLinePad + j);
        dark_columns[j].Set(kLinePad + i);
      }
      if ((module & 0x80) == 0) {
        data_rows[i].Set(kLinePad + j);
        data_columns[j].Set(kLinePad + i);
      }
    }
  }
  // The modules of row (column) r that change from mask 0 to `mask`, for r within the period.
  std::array<std::array<ModuleLine, kMaskPeriod>, kMaskCount> row_flips;
  std::array<std::array<ModuleLine, kMaskPeriod>, kMaskCount> column_flips;
  for (int mask = 0; mask < kMaskCount; ++mask) {
    for (size_t r = 0; r < kMaskPeriod; ++r) {
      for (size_t k = 0; k < w; ++k) {
        if (MaskInverts(mask, r, k % kMaskPeriod) != MaskInverts(0, r, k % kMaskPeriod)) {
          row_flips[static_cast<size_t>(mask)][r].Set(kLinePad + k);
        }
        if (MaskInverts(mask, k % kMaskPeriod, r) != MaskInverts(0, k % kMaskPeriod, r)) {
          column_flips[static_cast<size_t>(mask)][r].Set(kLinePad + k);
        }
      }
    }
  }
  const auto format_positions = FormatPositions(w);
  std::vector<ModuleLine> rows(w), columns(w);
  int best = 0;
  size_t best_penalty = 0;
  for (int mask = 0; mask < kMaskCount; ++mask) {
    const auto& row_flip = row_flips[static_cast<size_t>(mask)];
    const auto& column_flip = column_flips[static_cast<size_t>(mask)];
    for (size_t k = 0; k < w; ++k) {
      rows[k] = dark_rows[k] ^ (data_rows[k] & row_flip[k % kMaskPeriod]);
      columns[k] = dark_columns[k] ^ (data_columns[k] & column_flip[k % kMaskPeriod]);
    }
    const unsigned format = FormatBits(mask);
    for (const auto& copy : format_positions) {
      for (size_t i = 0; i < copy.size(); ++i) {
        const bool dark = ((format >> i) & 1U) != 0;
        rows[copy[i].row].Assign(kLinePad + copy[i].column, dark);
        columns[copy[i].column].Assign(kLinePad + copy[i].row, dark);
      }
    }
    const size_t penalty = Penalty(rows, columns, valid);
    if (mask == 0 || penalty < best_penalty) {
      best = mask;
      best_penalty = penalty;
    }
  }
  return best;
}

Result<QrCode> EncodeQr(std::string_view payload, const std::string& where) {
  if (payload.empty()) return Error::InvalidArgument("a QR code needs a payload", where);
  const auto too_large = [&] {
    return Error::InvalidArgument("the payload of " + std::to_string(payload.size()) +
                                      " bytes is too large for a QR code with error correction M",
                                  where);
  };
  if (payload.size() > kMaxPayloadBytes) return too_large();
  std::unique_ptr<QRinput, QrInputFree> input(QRinput_new2(0, QR_ECLEVEL_M));
  if (!input) return Error::Internal("out of memory encoding a QR code");
  if (QRinput_append(input.get(), QR_MODE_8, static_cast<int>(payload.size()),
                     reinterpret_cast<const unsigned char*>(payload.data())) != 0) {
    return Error::Internal("out of memory encoding a QR code");
  }
  errno = 0;
  std::unique_ptr<QRcode, QrFree> code(QRcode_encodeMask(input.get(), 0));
  if (!code) {
    if (errno == ERANGE) return too_large();
    return Error::Internal("could not encode a QR code");
  }
  const int mask = BestMask(*code);
  if (mask != 0) {
    code.reset(QRcode_encodeMask(input.get(), mask));
    if (!code) return Error::Internal("could not encode a QR code");
  }
  return QrCode{std::move(code)};
}

// Sizes the codes: kModuleSize each, at least kMinCodeWidth, all of them within the width.
void SizeCodes(std::span<QrCode> codes) {
  if (codes.empty()) return;
  const double gaps = kGapBetweenCodes * static_cast<double>(codes.size() - 1);
  const double room = (kContentWidth - gaps) / static_cast<double>(codes.size());
  for (QrCode& qr : codes) {
    const double modules = qr.code->width + 2 * kQuietZone;
    double module = std::max(kModuleSize, kMinCodeWidth / modules);
    module = std::min(module, room / modules);
    qr.module = module;
    qr.side = module * modules;
  }
}

// Draws the modules as a one-bit stencil (a PDF image mask, one bit per module, not interpolated),
// which every viewer and printer scales with sharp square modules. The same symbol as one vector
// path of rectangles costs cairo about 4 us per rectangle to format and compress: some 15 ms for a
// 1,000-byte payload, five times the budget of a whole page.
Status DrawQr(cairo_t* cr, const QrCode& qr, double left, double top) {
  const int width = qr.code->width;
  std::unique_ptr<cairo_surface_t, CairoSurfaceDestroy> stencil(
      cairo_image_surface_create(CAIRO_FORMAT_A1, width, width));
  if (cairo_surface_status(stencil.get()) != CAIRO_STATUS_SUCCESS) {
    return Error::Internal("could not draw a QR code");
  }
  cairo_surface_flush(stencil.get());
  unsigned char* pixels = cairo_image_surface_get_data(stencil.get());
  const auto stride = static_cast<size_t>(cairo_image_surface_get_stride(stencil.get()));
  const auto w = static_cast<size_t>(width);
  // A1 pixels fill 32-bit words from the least significant bit on little-endian machines and from
  // the most significant bit on big-endian ones.
  std::vector<uint32_t> words(stride / sizeof(uint32_t));
  for (size_t y = 0; y < w; ++y) {
    std::fill(words.begin(), words.end(), 0U);
    const unsigned char* row = qr.code->data + y * w;
    for (size_t x = 0; x < w; ++x) {
      const unsigned bit = std::endian::native == std::endian::little
                               ? static_cast<unsigned>(x % 32)
                               : static_cast<unsigned>(31 - x % 32);
      words[x / 32] |= static_cast<uint32_t>(row[x] & 1U) << bit;
    }
    std::memcpy(pixels + y * stride, words.data(), words.size() * sizeof(uint32_t));
  }
  cairo_surface_mark_dirty(stencil.get());

  std::unique_ptr<cairo_pattern_t, CairoPatternDestroy> pattern(
      cairo_pattern_create_for_surface(stencil.get()));
  cairo_pattern_set_filter(pattern.get(), CAIRO_FILTER_NEAREST);
  cairo_save(cr);
  cairo_translate(cr, left + kQuietZone * qr.module, top + kQuietZone * qr.module);
  cairo_scale(cr, qr.module, qr.module);
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_mask(cr, pattern.get());
  cairo_restore(cr);
  return Ok();
}

void DrawText(cairo_t* cr, const Text& text, double x, double y, Gray ink) {
  cairo_set_source_rgb(cr, ink.level, ink.level, ink.level);
  cairo_move_to(cr, x, y);
  pango_cairo_show_layout(cr, text.layout.get());
}

void DrawRule(cairo_t* cr, double y, double width, Gray ink) {
  cairo_set_source_rgb(cr, ink.level, ink.level, ink.level);
  cairo_set_line_width(cr, width);
  cairo_move_to(cr, kMargin, y);
  cairo_line_to(cr, kMargin + kContentWidth, y);
  cairo_stroke(cr);
}

struct Row {
  Text label;
  Text value;
  double height = 0;
};

// The rows [first, end) of one page; the codes go on the last page.
struct PageSlice {
  size_t first = 0;
  size_t end = 0;
};

// Everything measured before anything is drawn, so pagination knows the heights.
struct Composition {
  Text issuer;
  Text title;
  Text subtitle;
  std::vector<Row> rows;
  std::vector<QrCode> codes;
  std::vector<Text> captions;
  Text footer;
  double header_height = 0;
  double codes_height = 0;
};

// Every text within bounds and valid UTF-8 (pango would only log a warning and substitute).
Status CheckTexts(const PdfPage& page) {
  ULUS_TRY(CheckText(page.issuer, "issuer"));
  ULUS_TRY(CheckText(page.title, "title"));
  ULUS_TRY(CheckText(page.subtitle, "subtitle"));
  ULUS_TRY(CheckText(page.footer, "footer"));
  for (size_t i = 0; i < page.fields.size(); ++i) {
    const std::string where = "fields/" + std::to_string(i);
    ULUS_TRY(CheckText(page.fields[i].label, where + "/label"));
    ULUS_TRY(CheckText(page.fields[i].value, where + "/value"));
  }
  for (size_t i = 0; i < page.codes.size(); ++i) {
    ULUS_TRY(CheckText(page.codes[i].caption, "codes/" + std::to_string(i) + "/caption"));
  }
  return Ok();
}

Result<Composition> Compose(const PdfPage& page, Typesetter& typesetter) {
  ULUS_TRY(CheckTexts(page));
  if (page.codes.size() > kMaxCodes) {
    return Error::InvalidArgument("a page holds at most two QR codes", "codes");
  }
  Composition c;
  c.codes.reserve(page.codes.size());
  for (size_t i = 0; i < page.codes.size(); ++i) {
    ULUS_ASSIGN_OR_RETURN(
        QrCode qr, EncodeQr(page.codes[i].payload, "codes/" + std::to_string(i) + "/payload"));
    c.codes.push_back(std::move(qr));
  }
  SizeCodes(c.codes);

  typesetter.SetLanguage(page.language);
  c.issuer = Measure(typesetter.Layout(page.issuer, Style::kIssuer, kContentWidth));
  c.title = Measure(typesetter.Layout(page.title, Style::kTitle, kContentWidth));
  c.header_height = c.issuer.height + kGapAfterIssuer + kGapAfterRule + c.title.height;
  if (!page.subtitle.empty()) {
    c.subtitle = Measure(typesetter.Layout(page.subtitle, Style::kSubtitle, kContentWidth));
    c.header_height += kGapAfterTitle + c.subtitle.height;
  }

  c.rows.reserve(page.fields.size());
  for (const PdfField& field : page.fields) {
    Row row;
    row.label = Measure(typesetter.Layout(field.label, Style::kLabel, kLabelWidth));
    row.value = Measure(typesetter.Layout(field.value, Style::kValue, kValueWidth));
    row.height = std::max(row.label.height, row.value.height) + 2 * kRowPadding;
    c.rows.push_back(std::move(row));
  }

  c.captions.reserve(c.codes.size());
  for (size_t i = 0; i < c.codes.size(); ++i) {
    Text caption = Measure(typesetter.Layout(page.codes[i].caption, Style::kCaption,
                                             c.codes[i].side, PANGO_ALIGN_CENTER));
    c.codes_height = std::max(c.codes_height, c.codes[i].side + kGapBeforeCaption + caption.height);
    c.captions.push_back(std::move(caption));
  }

  c.footer =
      Measure(typesetter.Layout(page.footer, Style::kFooter, kContentWidth - kPageNumberWidth));
  return c;
}

double BodyTop(const Composition& c) {
  return kMargin + c.header_height + kGapAfterHeader;
}
double BodyBottom(const Composition& c) {
  return kPageHeight - kMargin - c.footer.height - kGapBeforeFooter;
}

// Fields that do not fit a page continue on the next one, under the same header and above the
// same footer; the QR codes go to the bottom of the last page, on a page of their own if the last
// fields leave no room. A single field taller than a whole page is an error.
Result<std::vector<PageSlice>> Paginate(const Composition& c, const PdfPage& page) {
  const double top = BodyTop(c);
  const double bottom = BodyBottom(c);
  if (c.codes_height > bottom - top) {
    return Error::InvalidArgument(
        "the header, footer and QR codes leave no room on the page; shorten the texts");
  }
  std::vector<PageSlice> slices(1);
  double y = top;
  for (size_t i = 0; i < c.rows.size(); ++i) {
    const double height = c.rows[i].height;
    if (height > bottom - top) {
      return Error::InvalidArgument(
          "the field '" + page.fields[i].label + "' is too long for a page",
          "fields/" + std::to_string(i) + "/value");
    }
    if (y + height > bottom) {
      slices.push_back({i, i});
      y = top;
    }
    slices.back().end = i + 1;
    y += height;
  }
  if (!c.codes.empty() && y + kGapBeforeCodes + c.codes_height > bottom) {
    slices.push_back({c.rows.size(), c.rows.size()});
  }
  return slices;
}

void DrawHeader(cairo_t* cr, const Composition& c) {
  double y = kMargin;
  DrawText(cr, c.issuer, kMargin, y, kSecondaryInk);
  y += c.issuer.height + kGapAfterIssuer;
  DrawRule(cr, y, 0.8, kInk);
  y += kGapAfterRule;
  DrawText(cr, c.title, kMargin, y, kInk);
  y += c.title.height;
  if (c.subtitle.layout) DrawText(cr, c.subtitle, kMargin, y + kGapAfterTitle, kSecondaryInk);
}

void DrawRows(cairo_t* cr, const Composition& c, const PageSlice& slice) {
  double y = BodyTop(c);
  for (size_t i = slice.first; i < slice.end; ++i) {
    const Row& row = c.rows[i];
    DrawRule(cr, y, 0.5, kRuleInk);
    DrawText(cr, row.label, kMargin, y + kRowPadding, kSecondaryInk);
    DrawText(cr, row.value, kMargin + kLabelWidth + kColumnGap, y + kRowPadding, kInk);
    y += row.height;
  }
  if (slice.end > slice.first) DrawRule(cr, y, 0.5, kRuleInk);
}

Status DrawCodes(cairo_t* cr, const Composition& c) {
  double total = kGapBetweenCodes * static_cast<double>(c.codes.size() - 1);
  for (const QrCode& qr : c.codes) total += qr.side;
  double x = kMargin + (kContentWidth - total) / 2;
  const double top = BodyBottom(c) - c.codes_height;
  for (size_t i = 0; i < c.codes.size(); ++i) {
    ULUS_TRY(DrawQr(cr, c.codes[i], x, top));
    DrawText(cr, c.captions[i], x, top + c.codes[i].side + kGapBeforeCaption, kSecondaryInk);
    x += c.codes[i].side + kGapBetweenCodes;
  }
  return Ok();
}

void DrawFooter(cairo_t* cr, const Composition& c, Typesetter& typesetter, size_t number,
                size_t count) {
  const double y = kPageHeight - kMargin - c.footer.height;
  DrawText(cr, c.footer, kMargin, y, kSecondaryInk);
  if (count < 2) return;
  const Text page_number =
      Measure(typesetter.Layout(std::to_string(number) + "/" + std::to_string(count),
                                Style::kFooter, kPageNumberWidth, PANGO_ALIGN_RIGHT));
  DrawText(cr, page_number, kMargin + kContentWidth - kPageNumberWidth, y, kSecondaryInk);
}

cairo_status_t AppendToString(void* closure, const unsigned char* data, unsigned int length) {
  try {
    static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  } catch (...) {
    return CAIRO_STATUS_NO_MEMORY;
  }
  return CAIRO_STATUS_SUCCESS;
}

Error CairoError(cairo_status_t status) {
  return Error::Internal(std::string("could not write the PDF: ") + cairo_status_to_string(status));
}

}  // namespace

Result<std::string> RenderPdf(const PdfPage& page) {
  ULUS_ASSIGN_OR_RETURN(Typesetter * typesetter, Typesetter::ForThisThread());
  ULUS_ASSIGN_OR_RETURN(const Composition composition, Compose(page, *typesetter));
  ULUS_ASSIGN_OR_RETURN(const std::vector<PageSlice> slices, Paginate(composition, page));

  std::string pdf;
  constexpr size_t kTypicalPdfBytes = size_t{64} * 1024;
  pdf.reserve(kTypicalPdfBytes);
  std::unique_ptr<cairo_surface_t, CairoSurfaceDestroy> surface(
      cairo_pdf_surface_create_for_stream(AppendToString, &pdf, kPageWidth, kPageHeight));
  if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS) {
    return CairoError(cairo_surface_status(surface.get()));
  }
  cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_TITLE, page.title.c_str());
  cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_CREATOR, "Ulus");
  {
    std::unique_ptr<cairo_t, CairoDestroy> cr(cairo_create(surface.get()));
    for (size_t i = 0; i < slices.size(); ++i) {
      DrawHeader(cr.get(), composition);
      DrawRows(cr.get(), composition, slices[i]);
      if (i + 1 == slices.size() && !composition.codes.empty()) {
        ULUS_TRY(DrawCodes(cr.get(), composition));
      }
      DrawFooter(cr.get(), composition, *typesetter, i + 1, slices.size());
      cairo_show_page(cr.get());
    }
    if (cairo_status(cr.get()) != CAIRO_STATUS_SUCCESS) return CairoError(cairo_status(cr.get()));
  }
  cairo_surface_finish(surface.get());
  if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS) {
    return CairoError(cairo_surface_status(surface.get()));
  }
  return pdf;
}

}  // namespace ulus::documents
