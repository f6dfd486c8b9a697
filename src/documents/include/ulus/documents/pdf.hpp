#pragma once

#include <string>
#include <vector>

#include "ulus/core/result.hpp"

namespace ulus::documents {

// What a document's page shows. Every text is UTF-8 in any script the Noto fonts cover
// (Cyrillic, Latin and Lao at least); pango shapes and picks fonts.
struct PdfField {
  std::string label;  // e.g. "Овог нэр / Name"
  std::string value;
};

struct PdfCode {
  std::string payload;  // what the QR code carries (byte mode, error correction M)
  std::string caption;  // printed under it
};

struct PdfPage {
  std::string language;  // BCP 47 of the main text, e.g. "mn", "lo", "kk" (for shaping)
  std::string issuer;    // the agency's name, at the top
  std::string title;     // the document's title
  std::string subtitle;  // e.g. the title in English; may be empty
  std::vector<PdfField> fields;
  std::vector<PdfCode> codes;  // one or two QR codes at the bottom
  std::string footer;          // document id, issue and expiry dates, where to verify
};

// Renders the page as an A4 PDF with the fonts it uses embedded (subset): the issuer, the title and
// subtitle, the fields as a table of label and value (long values wrap, without added hyphens),
// the QR codes side by side at the bottom with their captions, and the footer. Fields that do not
// fit one page continue on the next under the same header and footer, the pages numbered "1/2";
// the codes go on the last page. Errors, naming the field at fault: a payload too large for a QR
// code, an empty payload, more than two codes, text that is not UTF-8, or a single field taller
// than a page are kInvalidArgument; a text over 64 KiB is kTooLarge. Safe to call from many
// threads at once: each thread keeps its own pango font map.
Result<std::string> RenderPdf(const PdfPage& page);

}  // namespace ulus::documents
