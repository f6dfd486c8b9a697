#pragma once

#include "html.hpp"

// The portal's own words in Mongolian, English, Kazakh and Russian.
namespace ulus::portal::texts {

inline constexpr Text kSkip{"Үндсэн агуулга руу", "Skip to content", "Негізгі мазмұнға өту",
                            "Перейти к содержанию"};
inline constexpr Text kPortal{"Улус", "Ulus", "Ulus", "Ulus"};
inline constexpr Text kWorkspace{"Ажлын орчин", "Workspace", "Жұмыс орны", "Рабочее место"};
inline constexpr Text kMainMenu{"Үндсэн цэс", "Main menu", "Негізгі мәзір", "Главное меню"};
inline constexpr Text kLanguage{"Хэл", "Language", "Тіл", "Язык"};
inline constexpr Text kServices{"Үйлчилгээ", "Services", "Қызметтер", "Услуги"};
inline constexpr Text kMyApplications{"Миний өргөдөл", "My applications", "Менің өтініштерім",
                                      "Мои заявления"};
inline constexpr Text kMyDocuments{"Миний баримт", "My documents", "Менің құжаттарым",
                                   "Мои документы"};
inline constexpr Text kMyData{"Миний мэдээлэл", "My data", "Менің деректерім", "Мои данные"};
inline constexpr Text kDataUsage{"Миний мэдээллийг хэн ашигласан", "Who used my data",
                                 "Деректерімді кім пайдаланды", "Кто использовал мои данные"};
inline constexpr Text kInbox{"Мэдэгдэл", "Inbox", "Хабарламалар", "Уведомления"};
inline constexpr Text kConsents{"Зөвшөөрөл", "Consents", "Келісімдер", "Согласия"};
inline constexpr Text kLogIn{"Нэвтрэх", "Log in", "Кіру", "Войти"};
inline constexpr Text kLogOut{"Гарах", "Log out", "Шығу", "Выйти"};
inline constexpr Text kSignedInAs{"Нэвтэрсэн:", "Signed in as", "Кірген:", "Вы вошли как"};
inline constexpr Text kOfficerInbox{"Ирсэн өргөдөл", "Inbox", "Кіріс өтініштер", "Входящие"};
inline constexpr Text kDesk{"Нэг цэгийн үйлчилгээ", "One-stop desk", "Бір терезе", "Единое окно"};
inline constexpr Text kMyActions{"Миний үйлдэл", "My actions", "Менің әрекеттерім", "Мои действия"};

inline constexpr Text kWelcome{"Төрийн үйлчилгээ нэг дор", "Government services in one place",
                               "Мемлекеттік қызметтер бір жерде",
                               "Государственные услуги в одном месте"};
inline constexpr Text kSearch{"Хайх", "Search", "Іздеу", "Искать"};
inline constexpr Text kSearchServices{"Үйлчилгээ хайх", "Search services", "Қызмет іздеу",
                                      "Поиск услуг"};
inline constexpr Text kLifeEvents{"Амьдралын үйл явдал", "Life events", "Өмір оқиғалары",
                                  "Жизненные ситуации"};
inline constexpr Text kAllServices{"Бүх үйлчилгээ", "All services", "Барлық қызметтер",
                                   "Все услуги"};
inline constexpr Text kNoServices{"Тохирох үйлчилгээ олдсонгүй.", "No service matches.",
                                  "Сәйкес қызмет табылмады.", "Подходящих услуг не найдено."};
inline constexpr Text kFound{
    "Олдсон үйлчилгээ:", "Services found:", "Табылған қызметтер:", "Найдено услуг:"};
inline constexpr Text kNext{"Дараах", "Next", "Келесі", "Далее"};
inline constexpr Text kPages{"Хуудас", "Pages", "Беттер", "Страницы"};
inline constexpr Text kPrevious{"Өмнөх", "Previous", "Алдыңғы", "Назад"};
inline constexpr Text kAgency{"Байгууллага", "Agency", "Мекеме", "Ведомство"};
inline constexpr Text kDeadline{"Шийдвэрлэх хугацаа (ажлын өдөр)", "Deadline (working days)",
                                "Мерзімі (жұмыс күні)", "Срок (рабочих дней)"};
inline constexpr Text kFee{"Төлбөр", "Fee", "Төлем", "Пошлина"};
inline constexpr Text kFree{"Үнэгүй", "Free", "Тегін", "Бесплатно"};
inline constexpr Text kAutomatic{"Шууд олгоно: мэдээллийг улсын бүртгэлээс авна.",
                                 "Given at once: the data comes from the state registries.",
                                 "Бірден беріледі: деректер мемлекеттік тізілімдерден алынады.",
                                 "Выдаётся сразу: данные берутся из государственных реестров."};
inline constexpr Text kReview{"Албан хаагч хянаж шийдвэрлэнэ.", "An officer reviews and decides.",
                              "Қызметкер қарап, шешім шығарады.", "Решение принимает сотрудник."};
inline constexpr Text kDataRead{"Уншигдах мэдээлэл", "Data read", "Оқылатын деректер",
                                "Используемые данные"};
inline constexpr Text kApply{"Өргөдөл гаргах", "Apply", "Өтініш беру", "Подать заявление"};
inline constexpr Text kLogInToApply{"Өргөдөл гаргахын тулд нэвтэрнэ үү", "Log in to apply",
                                    "Өтініш беру үшін кіріңіз", "Войдите, чтобы подать заявление"};
inline constexpr Text kRequired{"(заавал)", "(required)", "(міндетті)", "(обязательно)"};
inline constexpr Text kYes{"Тийм", "Yes", "Иә", "Да"};
inline constexpr Text kNo{"Үгүй", "No", "Жоқ", "Нет"};
inline constexpr Text kReadAt{"Уншсан:", "Read at", "Оқылған уақыты:", "Прочитано:"};
inline constexpr Text kMyDataPurpose{
    "Та \"Миний мэдээлэл\" хуудсыг нээсэн", "You opened \"My data\"",
    "Сіз \"Менің деректерім\" бетін аштыңыз", "Вы открыли «Мои данные»"};
inline constexpr Text kChannel{"Суваг", "Channel", "Арна", "Канал"};
inline constexpr Text kVerdict{"Дүгнэлт", "Verdict", "Қорытынды", "Результат"};
inline constexpr Text kLatestVerifications{"Сүүлийн шалгалтууд", "Latest verifications",
                                           "Соңғы тексерулер", "Последние проверки"};
inline constexpr Text kAttachments{"Хавсралт", "Attachments", "Тіркемелер", "Вложения"};
inline constexpr Text kConsentNeeded{
    "Энэ үйлчилгээ таны зөвшөөрлөөр л өгөгдөх мэдээллийг уншина:",
    "This service reads data that is shared only with your consent:",
    "Бұл қызмет тек сіздің келісіміңізбен берілетін деректерді оқиды:",
    "Эта услуга читает данные, которые передаются только с вашего согласия:"};
inline constexpr Text kIConsent{"Би энэ мэдээллийг энэ өргөдөлд ашиглахыг зөвшөөрч байна",
                                "I consent to this data being read for this application",
                                "Осы өтініш үшін бұл деректерді оқуға келісемін",
                                "Я согласен(на) на чтение этих данных для этого заявления"};

inline constexpr Text kState{"Төлөв", "State", "Күйі", "Статус"};
inline constexpr Text kSubmitted{"Илгээсэн", "Submitted", "Жіберілді", "Подано"};
inline constexpr Text kInReview{"Хянагдаж байна", "In review", "Қаралуда", "На рассмотрении"};
inline constexpr Text kInformationRequested{"Нэмэлт мэдээлэл хүссэн", "Information requested",
                                            "Қосымша ақпарат сұралды", "Запрошены сведения"};
inline constexpr Text kCompleted{"Шийдвэрлэсэн", "Completed", "Орындалды", "Выполнено"};
inline constexpr Text kRejected{"Татгалзсан", "Rejected", "Бас тартылды", "Отказано"};
inline constexpr Text kWithdrawn{"Буцаан авсан", "Withdrawn", "Кері қайтарылды", "Отозвано"};
inline constexpr Text kApplication{"Өргөдөл", "Application", "Өтініш", "Заявление"};
inline constexpr Text kService{"Үйлчилгээ", "Service", "Қызмет", "Услуга"};
inline constexpr Text kFiled{"Илгээсэн огноо", "Filed", "Берілген күні", "Подано"};
inline constexpr Text kDue{"Эцсийн хугацаа", "Due", "Мерзімі", "Срок"};
inline constexpr Text kHistory{"Түүх", "History", "Тарих", "История"};
inline constexpr Text kWhen{"Хэзээ", "When", "Қашан", "Когда"};
inline constexpr Text kWho{"Хэн", "Who", "Кім", "Кто"};
inline constexpr Text kWhat{"Юу", "What", "Не", "Что"};
inline constexpr Text kComment{"Тайлбар", "Comment", "Түсініктеме", "Комментарий"};
inline constexpr Text kReason{"Шалтгаан", "Reason", "Себебі", "Причина"};
inline constexpr Text kYourEntries{"Таны бөглөсөн", "Your entries", "Сіз толтырған", "Ваши данные"};
inline constexpr Text kApplicantEntries{"Өргөдөл гаргагчийн бөглөсөн", "The applicant's entries",
                                        "Өтініш берушінің толтырғаны", "Данные заявителя"};
inline constexpr Text kActSubmit{"Илгээсэн", "Filed", "Жіберілді", "Подано"};
inline constexpr Text kActTake{"Хүлээн авсан", "Taken up", "Қабылданды", "Взято в работу"};
inline constexpr Text kActComment{"Тайлбар", "Comment", "Түсініктеме", "Комментарий"};
inline constexpr Text kActAmend{"Засварласан", "Corrected", "Түзетілді", "Исправлено"};
inline constexpr Text kActWithdraw{"Буцаан авсан", "Withdrawn", "Кері қайтарылды", "Отозвано"};
inline constexpr Text kDocument{"Баримт", "Document", "Құжат", "Документ"};
inline constexpr Text kDownloadPdf{"PDF татах", "Download PDF", "PDF жүктеу", "Скачать PDF"};
inline constexpr Text kQrHelp{
    "Энэ QR кодыг үзүүлж баримтаа шалгуулна. Хэн ч /verify хуудсанд шалгаж болно.",
    "Show this QR code to share the credential; anyone can check it at /verify.",
    "Куәлікті бөлісу үшін осы QR кодты көрсетіңіз; оны кез келген адам /verify бетінде тексере "
    "алады.",
    "Покажите этот QR-код, чтобы поделиться документом; проверить его можно на странице /verify."};
inline constexpr Text kVerifyCode{"Баримтын QR код", "The document's QR code", "Құжаттың QR коды",
                                  "QR-код документа"};
inline constexpr Text kRevoked{"Хүчингүй болгосон", "Revoked", "Күші жойылды", "Отозван"};
inline constexpr Text kRespond{"Хариу өгөх", "Respond", "Жауап беру", "Ответить"};
inline constexpr Text kWithdraw{"Өргөдлөө буцаах", "Withdraw the application",
                                "Өтінішті кері қайтару", "Отозвать заявление"};
inline constexpr Text kNoApplications{"Өргөдөл алга.", "No applications yet.", "Өтініштер жоқ.",
                                      "Заявлений пока нет."};
inline constexpr Text kNoDocuments{"Баримт алга.", "No documents yet.", "Құжаттар жоқ.",
                                   "Документов пока нет."};
inline constexpr Text kIssued{"Олгосон", "Issued", "Берілген", "Выдан"};
inline constexpr Text kVerifications{"Шалгасан тоо", "Verifications", "Тексерулер саны",
                                     "Проверок"};
inline constexpr Text kExpires{"Хүчинтэй хугацаа", "Valid until", "Жарамды мерзімі",
                               "Действителен до"};

inline constexpr Text kMyDataIntro{
    "Улсын бүртгэлүүд таны тухай хадгалж буй мэдээлэл. Уншилт бүр Хур-аар дамжиж, "
    "\"Миний мэдээллийг хэн ашигласан\" хэсэгт бүртгэгдэнэ.",
    "What the state registries hold about you. Each read goes through Khur and is listed in "
    "\"Who used my data\".",
    "Мемлекеттік тізілімдердің сіз туралы деректері. Әр оқу Khur арқылы өтіп, \"Деректерімді "
    "кім пайдаланды\" бөлімінде көрсетіледі.",
    "Что государственные реестры хранят о вас. Каждое чтение проходит через Khur и видно в "
    "разделе «Кто использовал мои данные»."};
inline constexpr Text kNoRecord{"Бүртгэл алга.", "No record.", "Жазба жоқ.", "Записей нет."};
inline constexpr Text kConsentBound{
    "Энэ бүртгэлийн мэдээлэл зөвхөн таны зөвшөөрлөөр өгөгдөнө; үүнийг шаарддаг үйлчилгээнд "
    "өргөдөл гаргахад уншигдана.",
    "This registry shares its data only with your consent; it is read when you apply for a "
    "service that needs it.",
    "Бұл тізілім деректерін тек сіздің келісіміңізбен береді; оны қажет ететін қызметке өтініш "
    "бергенде оқылады.",
    "Этот реестр передаёт данные только с вашего согласия; они читаются, когда вы подаёте "
    "заявление на услугу, которой они нужны."};
inline constexpr Text kUnavailable{"Одоогоор авах боломжгүй байна. Дараа дахин оролдоно уу.",
                                   "Not available right now. Please try again later.",
                                   "Қазір қолжетімсіз. Кейінірек қайталаңыз.",
                                   "Сейчас недоступно. Попробуйте позже."};
inline constexpr Text kField{"Талбар", "Field", "Өріс", "Поле"};
inline constexpr Text kValue{"Утга", "Value", "Мәні", "Значение"};

inline constexpr Text kUsageIntro{
    "Таны тухай мэдээллийг Хур-аар дамжуулан уншсан бүх тохиолдол, хамгийн сүүлийнх эхэндээ.",
    "Every read of data about you through Khur, newest first.",
    "Khur арқылы сіз туралы деректерді оқудың барлық жағдайы, ең соңғысы басында.",
    "Все обращения к данным о вас через Khur, сначала новые."};
inline constexpr Text kInstitution{"Байгууллага", "Institution", "Мекеме", "Организация"};
inline constexpr Text kRegistry{"Бүртгэл", "Registry", "Тізілім", "Реестр"};
inline constexpr Text kPurpose{"Зорилго", "Purpose", "Мақсаты", "Цель"};
inline constexpr Text kOfficer{"Албан хаагч", "Officer", "Қызметкер", "Сотрудник"};
inline constexpr Text kSystemCitizen{"Таны хүсэлтээр", "At your request", "Сіздің сұрауыңызбен",
                                     "По вашему запросу"};
inline constexpr Text kNoUsage{"Одоогоор уншилт алга.", "No reads yet.", "Әзірге оқулар жоқ.",
                               "Обращений пока нет."};

inline constexpr Text kNoNotices{"Мэдэгдэл алга.", "No notifications.", "Хабарламалар жоқ.",
                                 "Уведомлений нет."};
inline constexpr Text kMarkRead{"Бүгдийг уншсан гэж тэмдэглэх", "Mark all as read",
                                "Барлығын оқылды деп белгілеу", "Отметить все как прочитанные"};
inline constexpr Text kUnread{"Шинэ", "New", "Жаңа", "Новое"};

inline constexpr Text kConsentsIntro{
    "Таны өгсөн зөвшөөрөл. Хүссэн үедээ цуцалж болно; цуцалсны дараа мэдээлэл дамжихгүй.",
    "The consents you have given. You may withdraw any at any time; after that the data is no "
    "longer shared.",
    "Сіз берген келісімдер. Кез келгенін кез келген уақытта кері қайтара аласыз; содан кейін "
    "деректер берілмейді.",
    "Ваши согласия. Любое можно отозвать в любой момент; после этого данные не передаются."};
inline constexpr Text kGiven{"Өгсөн", "Given", "Берілді", "Дано"};
inline constexpr Text kWithdrawConsent{"Цуцлах", "Withdraw", "Кері қайтару", "Отозвать"};
inline constexpr Text kConsentWithdrawn{"Цуцалсан", "Withdrawn", "Кері қайтарылды", "Отозвано"};
inline constexpr Text kConsentExpired{"Хугацаа дууссан", "Expired", "Мерзімі өтті", "Истекло"};
inline constexpr Text kNoConsents{"Зөвшөөрөл алга.", "No consents.", "Келісімдер жоқ.",
                                  "Согласий нет."};

inline constexpr Text kLate{"Хоцорсон", "Late", "Кешікті", "Просрочено"};
inline constexpr Text kOnTime{"Хугацаандаа", "On time", "Мерзімінде", "В срок"};
inline constexpr Text kStateDue{"Алхмын хугацаа", "Step due", "Қадам мерзімі", "Срок шага"};
inline constexpr Text kApplicant{"Өргөдөл гаргагч", "Applicant", "Өтініш беруші", "Заявитель"};
inline constexpr Text kNothingWaiting{"Хүлээгдэж буй өргөдөл алга.", "Nothing is waiting.",
                                      "Күтіп тұрған өтініш жоқ.", "Ожидающих заявлений нет."};
inline constexpr Text kNotOfficer{"Энэ хэсэг зөвхөн байгууллагын албан хаагчдад зориулагдсан.",
                                  "This workspace is for officers of an agency.",
                                  "Бұл жұмыс орны мекеме қызметкерлеріне арналған.",
                                  "Это рабочее место для сотрудников ведомств."};
inline constexpr Text kTakeUp{"Хүлээн авах", "Take up", "Қабылдау", "Взять в работу"};
inline constexpr Text kApprove{"Батлах", "Approve", "Бекіту", "Одобрить"};
inline constexpr Text kReject{"Татгалзах", "Reject", "Бас тарту", "Отказать"};
inline constexpr Text kAskInformation{"Мэдээлэл хүсэх", "Ask for information", "Ақпарат сұрау",
                                      "Запросить сведения"};
inline constexpr Text kAddComment{"Тайлбар нэмэх", "Add comment", "Түсініктеме қосу",
                                  "Добавить комментарий"};
inline constexpr Text kOfficerFields{"Албан хаагчийн бөглөх талбар", "Fields the officer enters",
                                     "Қызметкер толтыратын өрістер",
                                     "Поля, заполняемые сотрудником"};
inline constexpr Text kAssignee{"Хариуцагч", "Assigned to", "Жауапты", "Исполнитель"};
inline constexpr Text kYou{"Та", "You", "Сіз", "Вы"};
inline constexpr Text kNobody{"Хэн ч биш", "Nobody yet", "Әзірге ешкім", "Пока никто"};
inline constexpr Text kOwnApplication{
    "Энэ бол таны өөрийн өргөдөл: өөр албан хаагч шийдвэрлэнэ.",
    "This is your own application: another officer decides it.",
    "Бұл сіздің өз өтінішіңіз: оны басқа қызметкер шешеді.",
    "Это ваше собственное заявление: решение принимает другой сотрудник."};
inline constexpr Text kDeskIntro{
    "Биечлэн ирсэн иргэнд өргөдөл гаргаж өгнө. Иргэний утсанд баталгаажуулах код илгээнэ.",
    "File an application for a citizen who is present. The citizen gets a code on their phone "
    "to confirm.",
    "Келген азаматқа өтініш беріңіз. Азаматтың телефонына растау коды жіберіледі.",
    "Подайте заявление за присутствующего гражданина. Гражданин получит код подтверждения на "
    "телефон."};
inline constexpr Text kNationalId{"Регистрийн дугаар", "National ID", "ЖСН", "ИИН"};
inline constexpr Text kSendCode{"Код илгээх", "Send the code", "Кодты жіберу", "Отправить код"};
inline constexpr Text kCodeSent{"Код илгээсэн:", "The code was sent to",
                                "Код жіберілді:", "Код отправлен на"};
inline constexpr Text kCode{"Иргэний хэлсэн код", "The code the citizen reads out",
                            "Азамат айтқан код", "Код, который назвал гражданин"};
inline constexpr Text kFile{"Өргөдлийг илгээх", "File the application", "Өтінішті жіберу",
                            "Подать заявление"};
inline constexpr Text kFiledFor{"Иргэний нэрийн өмнөөс илгээсэн өргөдөл:", "Filed for the citizen:",
                                "Азамат атынан берілген өтініш:", "Подано за гражданина:"};
inline constexpr Text kNoActions{"Үйлдэл алга.", "No actions yet.", "Әрекеттер жоқ.",
                                 "Действий пока нет."};
inline constexpr Text kAction{"Үйлдэл", "Action", "Әрекет", "Действие"};

inline constexpr Text kNotFound{"Олдсонгүй", "Not found", "Табылмады", "Не найдено"};
inline constexpr Text kNotFoundText{"Энэ хуудас байхгүй, эсвэл танд харагдахгүй.",
                                    "This page does not exist, or it is not yours to see.",
                                    "Бұл бет жоқ немесе оны көру сізге рұқсат етілмеген.",
                                    "Такой страницы нет, или она вам недоступна."};
inline constexpr Text kError{"Алдаа", "Something went wrong", "Қате", "Ошибка"};
inline constexpr Text kForbidden{"Хандах эрхгүй", "Not allowed", "Рұқсат жоқ", "Нет доступа"};
inline constexpr Text kCannotDo{"Үүнийг хийх боломжгүй", "This cannot be done",
                                "Мұны орындау мүмкін емес", "Это невозможно сделать"};
inline constexpr Text kBack{"Буцах", "Back", "Артқа", "Назад"};
inline constexpr Text kExpiredForm{
    "Маягтын хугацаа дууссан эсвэл өөр цонхноос илгээгдсэн. Дахин оролдоно уу.",
    "The form expired or came from another window. Please try again.",
    "Форманың мерзімі өтті немесе басқа терезеден жіберілді. Қайталаңыз.",
    "Форма устарела или отправлена из другого окна. Попробуйте снова."};

}  // namespace ulus::portal::texts
