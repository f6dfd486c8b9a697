#include "ulus/identity/qr_svg.hpp"

#include <qrencode.h>

#include <memory>

#include "ulus/identity/pages.hpp"

namespace ulus::identity {
namespace {

constexpr int kQuietZone = 4;
constexpr int kPixelsPerModule = 6;

struct QrFree {
  void operator()(QRcode* code) const { QRcode_free(code); }
};

}  // namespace

Result<std::string> QrSvg(std::string_view text, std::string_view label) {
  const std::string input(text);
  std::unique_ptr<QRcode, QrFree> code(QRcode_encodeString8bit(input.c_str(), 0, QR_ECLEVEL_M));
  if (!code) return Error::Internal("could not encode the QR code");
  const int width = code->width;
  const int size = width + 2 * kQuietZone;
  std::string path;
  // Runs of dark modules in a row become one rectangle each, which keeps the path short.
  for (int y = 0; y < width; ++y) {
    int x = 0;
    while (x < width) {
      const auto dark = [&](int at) {
        return (code->data[static_cast<size_t>(y) * static_cast<size_t>(width) +
                           static_cast<size_t>(at)] &
                1) != 0;
      };
      if (!dark(x)) {
        ++x;
        continue;
      }
      int run = 1;
      while (x + run < width && dark(x + run)) ++run;
      path += "M" + std::to_string(x + kQuietZone) + " " + std::to_string(y + kQuietZone) + "h" +
              std::to_string(run) + "v1h-" + std::to_string(run) + "z";
      x += run;
    }
  }
  const std::string pixels = std::to_string(size * kPixelsPerModule);
  const std::string box = std::to_string(size);
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"" + Escape(label) +
         "\" width=\"" + pixels + "\" height=\"" + pixels + "\" viewBox=\"0 0 " + box + " " + box +
         "\" shape-rendering=\"crispEdges\"><rect width=\"" + box + "\" height=\"" + box +
         "\" fill=\"#fff\"/><path fill=\"#000\" d=\"" + path + "\"/></svg>";
}

}  // namespace ulus::identity
