#include "verify_page.hpp"

#include "ulus/http/form.hpp"
#include "ulus/identity/pages.hpp"

namespace ulus::documents {

using identity::Escape;
using identity::Lang;
using identity::Pick;
using identity::Text;
using nlohmann::json;

namespace {

constexpr Text kTitle{"Баримт шалгах", "Verify a document", "Құжатты тексеру",
                      "Проверка документа"};
constexpr Text kIntro{
    "Баримтын QR кодыг уншуулж гарсан текстийг энд буулгана уу. Нэвтрэх шаардлагагүй.",
    "Paste the text of the document's QR code here. No login is needed.",
    "Құжаттың QR кодының мәтінін осында қойыңыз. Кіру қажет емес.",
    "Вставьте сюда текст QR-кода документа. Вход не требуется."};
constexpr Text kLabel{"QR кодын текст", "QR code text", "QR код мәтіні", "Текст QR-кода"};
constexpr Text kButton{"Шалгах", "Verify", "Тексеру", "Проверить"};
constexpr Text kGenuine{"Жинхэнэ", "Genuine", "Түпнұсқа", "Подлинный"};
constexpr Text kRevoked{"Хүчингүй болсон", "Revoked", "Күші жойылған", "Отозван"};
constexpr Text kExpired{"Хугацаа дууссан", "Expired", "Мерзімі өткен", "Срок истёк"};
constexpr Text kForged{"Хуурамч эсвэл өөрчлөгдсөн", "Forged or changed",
                       "Жалған немесе өзгертілген", "Поддельный или изменённый"};
constexpr Text kIssuer{"Олгосон байгууллага", "Issued by", "Берген мекеме", "Выдан"};
constexpr Text kIssued{"Олгосон", "Issued", "Берілген күні", "Дата выдачи"};
constexpr Text kExpires{"Хүчинтэй хугацаа", "Valid until", "Жарамдылық мерзімі", "Действителен до"};
constexpr Text kDisclosure{"Эзэмшигч зөвхөн эдгээр мэдээллийг харуулахаар сонгосон.",
                           "The holder chose to show only this.",
                           "Иесі тек осы мәліметтерді көрсетуді таңдады.",
                           "Владелец решил показать только это."};
constexpr Text kScan{"Камераар уншуулах", "Scan with the camera", "Камерамен оқу",
                     "Сканировать камерой"};
constexpr Text kAnother{"Өөр баримт шалгах", "Verify another", "Басқа құжатты тексеру",
                        "Проверить другой"};

std::string Form(Lang lang, std::string_view value) {
  return "<p>" + std::string(Pick(lang, kIntro)) +
         "</p><form method=\"post\" action=\"/verify?lang=" +
         std::string(identity::LangCode(lang)) + "\"><label for=\"code\">" +
         std::string(Pick(lang, kLabel)) +
         "</label><textarea id=\"code\" name=\"code\" rows=\"6\" required "
         "spellcheck=\"false\" autocomplete=\"off\">" +
         Escape(value) + "</textarea><button type=\"submit\">" + std::string(Pick(lang, kButton)) +
         "</button> <button type=\"button\" id=\"scan\" hidden>" + std::string(Pick(lang, kScan)) +
         "</button></form><script src=\"/verify/scan.js\" defer></script>";
}

std::string ValueText(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "✓" : "✗";
  return value.dump();
}

// The disclosed members as a definition list; nested objects (a DCC) flattened with dotted names.
void AppendFields(std::string& html, const json& object, const std::string& prefix) {
  for (const auto& [name, value] : object.items()) {
    const std::string key = prefix.empty() ? name : prefix + "." + name;
    if (value.is_object()) {
      AppendFields(html, value, key);
    } else if (value.is_array()) {
      for (size_t i = 0; i < value.size(); ++i) {
        if (value[i].is_object()) {
          AppendFields(html, value[i], key + "[" + std::to_string(i) + "]");
        } else {
          html += "<dt>" + Escape(key) + "</dt><dd>" + Escape(ValueText(value[i])) + "</dd>";
        }
      }
    } else {
      html += "<dt>" + Escape(key) + "</dt><dd>" + Escape(ValueText(value)) + "</dd>";
    }
  }
}

std::string VerdictHtml(Lang lang, const Verification& v) {
  const Text& headline = v.verdict == Verdict::kGenuine   ? kGenuine
                         : v.verdict == Verdict::kRevoked ? kRevoked
                         : v.verdict == Verdict::kExpired ? kExpired
                                                          : kForged;
  std::string html = "<section role=\"status\" class=\"verdict verdict-" +
                     std::string(VerdictName(v.verdict)) + "\"><h2>" +
                     std::string(Pick(lang, headline)) + "</h2>";
  if (!v.reason.empty()) html += "<p>" + Escape(v.reason) + "</p>";
  if (v.verdict != Verdict::kForged) {
    html += "<dl><dt>" + std::string(Pick(lang, kIssuer)) + "</dt><dd>" + Escape(v.agency_name) +
            "</dd>";
    if (!v.name.empty()) html += "<dt>" + Escape(v.type) + "</dt><dd>" + Escape(v.name) + "</dd>";
    if (v.issued_at) {
      html += "<dt>" + std::string(Pick(lang, kIssued)) + "</dt><dd>" +
              Escape(FormatRfc3339(*v.issued_at)) + "</dd>";
    }
    if (v.expires_at) {
      html += "<dt>" + std::string(Pick(lang, kExpires)) + "</dt><dd>" +
              Escape(FormatRfc3339(*v.expires_at)) + "</dd>";
    }
    html += "</dl>";
    if (v.disclosure) html += "<p>" + std::string(Pick(lang, kDisclosure)) + "</p>";
    html += "<dl>";
    AppendFields(html, v.disclosed, "");
    html += "</dl>";
  }
  html += "</section>";
  return html;
}

// Scanning with the camera where the browser has a barcode detector (Chrome on Android, Safari):
// the button stays hidden elsewhere, and pasting always works. Same-origin, no library.
constexpr std::string_view kScanScript = R"js((() => {
  const button = document.getElementById('scan');
  const area = document.getElementById('code');
  if (!button || !area || !('BarcodeDetector' in window) || !navigator.mediaDevices) return;
  button.hidden = false;
  button.addEventListener('click', async () => {
    const detector = new BarcodeDetector({ formats: ['qr_code'] });
    const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
    const video = document.createElement('video');
    video.srcObject = stream;
    video.setAttribute('playsinline', '');
    video.style.maxWidth = '100%';
    button.after(video);
    await video.play();
    const look = async () => {
      const codes = await detector.detect(video).catch(() => []);
      if (codes.length > 0) {
        stream.getTracks().forEach((track) => track.stop());
        video.remove();
        area.value = codes[0].rawValue;
        area.form.submit();
        return;
      }
      requestAnimationFrame(look);
    };
    look();
  });
})();
)js";

// The layout's policy forbids every script; this page allows its own one file.
http::Response AllowOwnScript(http::Response response) {
  for (auto& [name, value] : response.headers) {
    if (name == "Content-Security-Policy") value += "; script-src 'self'";
  }
  return response;
}

}  // namespace

void MountVerifyPage(http::Router& router, DocumentService& service) {
  router.Add(http::Method::get, "/verify",
             [](http::Request& request) -> ulus::Result<http::Response> {
               const Lang lang = identity::LangOf(request);
               return AllowOwnScript(
                   identity::Page(lang, Pick(lang, kTitle), Form(lang, ""), request.target()));
             });
  router.Add(http::Method::get, "/verify/scan.js",
             [](http::Request&) -> ulus::Result<http::Response> {
               auto response =
                   http::Response::Text(std::string(kScanScript), "text/javascript; charset=utf-8");
               response.headers.emplace_back("Cache-Control", "public, max-age=3600");
               response.headers.emplace_back("X-Content-Type-Options", "nosniff");
               return response;
             });
  router.Add(http::Method::post, "/verify",
             [&service](http::Request& request) -> ulus::Result<http::Response> {
               const Lang lang = identity::LangOf(request);
               ULUS_ASSIGN_OR_RETURN(auto form, http::Form::FromRequest(request));
               const std::string code = form.Value("code");
               auto verified = service.Verify(code, "page", request.remote_address());
               std::string body;
               if (verified.ok()) {
                 body = VerdictHtml(lang, *verified);
               } else {
                 body = "<section role=\"alert\"><p>" + Escape(verified.error().message) +
                        "</p></section>";
               }
               body += "<p><a href=\"/verify?lang=" + std::string(identity::LangCode(lang)) +
                       "\">" + std::string(Pick(lang, kAnother)) + "</a></p>";
               return identity::Page(lang, Pick(lang, kTitle), body, "/verify");
             });
}

}  // namespace ulus::documents
