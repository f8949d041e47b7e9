"""The Turkish demo company's words (`flask seed-demo --locale tr`).

A seed step names its data in module constants (CATEGORIES, SUPPLIERS, ...); for a company
whose default language is Turkish, `words(company, module)` answers the Turkish constants
of the same names instead, so every step makes the same data set in either language.
Only what a reader sees as names is here (products, categories, suppliers, customers,
warehouses, employees, work steps, payment terms, tasks); the rest of the steps' texts
(notes) stay as they are.
"""
from __future__ import annotations

from types import ModuleType, SimpleNamespace

COMPANY = "Örnek Mobilya"
CURRENCY = "TRY"
TIMEZONE = "Europe/Istanbul"
LANGUAGE = "tr"
USERS = [
    ("admin@ornek.example.com", "admin", "admin", "Ayşe Yıldız"),
    ("manager@ornek.example.com", "manager", "manager", "Mehmet Öztürk"),
    ("staff@ornek.example.com", "staff", "staff", "Selin Çelik"),
    ("viewer@ornek.example.com", "viewer", "viewer", "İsmail Işık"),
]

CATEGORY = {"Metals": "Metaller", "Plastics": "Plastikler", "Wood": "Ahşap",
            "Textiles": "Tekstil", "Fasteners": "Bağlantı elemanları",
            "Electronics": "Elektronik", "Hardware": "Hırdavat",
            "Office furniture": "Ofis mobilyası", "Lighting": "Aydınlatma",
            "Storage": "Depolama", "Services": "Hizmetler"}
SUPPLIERS = [
    ("Ereğli Çelik Ticaret", "Hakan Demir", "Organize Sanayi Bölgesi 4. Cad. No 12, Kocaeli"),
    ("Polimer Plastik A.Ş.", "Zeynep Kaya", "Dudullu OSB 2. Sok. No 7, İstanbul"),
    ("Karadeniz Kereste", "Murat Şahin", "Sanayi Mah. Orman Sok. 3, Düzce"),
    ("Güven Cıvata", "Emre Aydın", "Perpa Ticaret Merkezi B Blok, İstanbul"),
    ("Işıltı Elektronik", "Gülşen Yılmaz", "Ostim OSB 1234. Cad. 5, Ankara"),
    ("Bursa İpek Kumaş", "Ömer Koç", "Demirtaş OSB Lale Sok. 9, Bursa"),
    ("Menteşe Hırdavat", "Serkan Öz", "Karaköy Perşembe Pazarı 14, İstanbul"),
    ("Aydınlık Aydınlatma", "Elif Arslan", "İkitelli OSB Çevre Yolu 21, İstanbul"),
    ("Ambalajcı Karton", "Burak Çetin", "Kemalpaşa OSB 8, İzmir"),
    ("İskenderun Metal", "Fatma Güneş", "Sanayi Sitesi 22, Hatay"),
    ("Hızlı Lojistik", "Okan Uçar", "Gebze Lojistik Merkezi 1, Kocaeli"),
    ("Hassas Parça Ltd.", "Deniz Erdoğan", "Nilüfer OSB Üçüncü Cad. 30, Bursa"),
]
# the products' names, in the order of erp.seeds.catalog's tables (which give the units,
# prices, categories and suppliers): a name template and its variants
RAW = [("Çelik sac {} mm", ["1", "1,5", "2", "3", "4"]),
       ("Alüminyum profil {}", ["20x20", "30x30", "40x40", "20x40"]),
       ("Çelik boru {} mm", ["16", "20", "25", "32"]),
       ("ABS granül {}", ["siyah", "beyaz", "gri"]),
       ("Polikarbonat levha {} mm", ["2", "3", "5"]),
       ("Meşe tahta {} mm", ["18", "22", "28"]),
       ("Huş kontrplak {} mm", ["12", "15", "18"]),
       ("MDF panel {} mm", ["16", "19"]),
       ("Döşemelik kumaş {}", ["antrasit", "mavi", "yeşil", "kum"]),
       ("Sünger blok {} dns", ["30", "40"]),
       ("Toz boya {}", ["RAL 9005", "RAL 9016", "RAL 7035"]),
       ("Ahşap yağı {}", ["doğal", "beyaz"])]
COMPONENTS = [("Cıvata M{} x 30", ["5", "6", "8", "10"]), ("Somun M{}", ["5", "6", "8", "10"]),
              ("Ağaç vidası 4 x {}", ["20", "30", "40", "50"]), ("Pul M{}", ["6", "8", "10"]),
              ("Tekerlek {} mm", ["50", "65", "75"]), ("Amortisör {} mm", ["100", "120", "150"]),
              ("Çekmece rayı {} mm", ["300", "400", "500"]),
              ("Menteşe {}", ["35 mm kap", "frenli", "piyano 1 m"]),
              ("Kulp {}", ["128 mm", "160 mm", "düğme"]), ("LED modül {} W", ["3", "5", "10", "15"]),
              ("LED sürücü {} W", ["12", "24", "36"]), ("Güç kablosu {} m", ["1,5", "2", "3"]),
              ("Anahtar {}", ["kablo üstü", "dokunmatik", "dimmer"]),
              ("Sandalye ayağı {}", ["naylon", "alüminyum"]),
              ("Masa iskeleti {}", ["sabit", "elektrikli"]),
              ("Ambalaj kutusu {}", ["S", "M", "L", "XL"])]
FINISHED = [("Ofis koltuğu {}", ["Temel", "Konfor", "Yönetici", "File", "Çalışma"]),
            ("Çalışma masası {}", ["120x60", "140x70", "160x80", "180x80", "köşe"]),
            ("Ayarlı masa {}", ["140", "160", "180"]),
            ("Toplantı masası {}", ["yuvarlak", "oval", "dikdörtgen"]),
            ("Masa lambası {}", ["Kavis", "Mandal", "Mini", "Stüdyo"]),
            ("Lambader {}", ["Kavis", "Üçayak", "Sütun"]),
            ("Işıklı sarkıt {}", ["Kubbe", "Lineer 120", "Lineer 150"]),
            ("Kitaplık {}", ["3 raflı", "5 raflı", "geniş", "dar"]),
            ("Çekmeceli dolap {}", ["3 çekmeceli", "4 çekmeceli", "tekerlekli"]),
            ("Gardırop {}", ["tek kapaklı", "çift kapaklı"]),
            ("Konsol {}", ["meşe", "beyaz", "siyah"])]
FINISHES = ["meşe", "siyah", "beyaz", "gri"]
SERVICES = ["Montaj hizmeti", "Şehir içi teslimat", "Yurt içi teslimat", "Tasarım danışmanlığı",
            "3 yıl uzatılmış garanti", "Aydınlatma kurulumu"]


def _catalog() -> SimpleNamespace:
    """erp.seeds.catalog's tables with the Turkish names."""
    from erp.seeds import catalog as english

    def named(rows, names):  # a row's name template, category and variants in Turkish
        return [(name, *row[1:3], CATEGORY[row[3]], *row[4:-1], variants)
                for row, (name, variants) in zip(rows, names, strict=True)]

    return SimpleNamespace(
        CATEGORIES=[(CATEGORY[name], parent) for name, parent in english.CATEGORIES],
        SUPPLIERS=SUPPLIERS, RAW=named(english.RAW, RAW),
        COMPONENTS=named(english.COMPONENTS, COMPONENTS),
        FINISHED=named(english.FINISHED, FINISHED), FINISHES=FINISHES,
        SERVICES=[(name, *row[1:]) for row, name in zip(english.SERVICES, SERVICES,
                                                         strict=True)])


inventory = SimpleNamespace(
    WAREHOUSES=[("ANA", "Ana depo", "Tuzla OSB 1. Cad. No 1, İstanbul"),
                ("DOGU", "Doğu deposu", "Sincan OSB 4. Cad. No 40, Ankara"),
                ("BATI", "Batı deposu", "Atatürk OSB 8, Çiğli / İzmir")],
)

sales = SimpleNamespace(
    COMPANIES=["Işık", "İstanbul Ofis", "Çelik", "Anadolu", "Boğaziçi", "Cumhuriyet", "Deniz",
               "Ege", "Fırat", "Göktürk", "Güneş", "Hilal", "Ilgaz", "İnci", "Kardelen",
               "Lale", "Marmara", "Nur", "Ögeyap", "Palandöken", "Rüzgâr", "Şimşek", "Toros",
               "Uludağ", "Ünal", "Vadi", "Yıldız", "Zümrüt", "Akdeniz", "Beşiktaş"],
    SUFFIXES=["Ltd. Şti.", "A.Ş.", "Ticaret", "Mobilya", "Yapı", "Ofis", "ve Ortakları"],
    CITIES=["İstanbul", "Ankara", "İzmir", "Bursa", "Antalya", "Eskişehir", "Kayseri",
            "Iğdır"],
    STREET="Atatürk Cad. No {}",
    DOCK="Rampa {}, Sanayi Sok. No {}",
    PHONE="+90 212 {}",
)

production = SimpleNamespace(
    EMPLOYEES=[("Ali Yılmaz", "Montaj", "Takım lideri"), ("Büşra Kaya", "Montaj", "Operatör"),
               ("Cem Öztürk", "Talaşlı imalat", "Tezgâh operatörü"),
               ("Ümran Işık", "Kalite", "Kontrolör")],
    STEPS=["Kesim", "Montaj", "Test", "Paketleme"],
)

money = SimpleNamespace(
    TERMS=[("Peşin", "receipt", 0), ("30 gün vade", "net", 30), ("60 gün vade", "net", 60),
           ("Ay sonundan itibaren 30 gün", "end_of_month", 30)],
    DEFAULT_TERMS="30 gün vade",
    FOOTER="Ödeme 30 gün içinde. Teşekkür ederiz.",
)

tasks = SimpleNamespace(
    TITLES=["Geciken teslimat için tedarikçiyi ara", "3. koridordaki stoku say",
            "Geçen haftanın açık tekliflerini kontrol et",
            "Gelecek çeyreğin fiyat listesini güncelle", "Aylık üretim raporunu hazırla",
            "12. partinin kalite bulgularını incele", "Ambalaj malzemesi sipariş et",
            "Arşivlenmiş ürünleri temizle", "Stok sayımını planla",
            "Hasarlı ürün şikâyetine cevap ver", "Forklift muayenesini yenile",
            "Nakliyeciyle sevk tarihlerini teyit et"],
)

_WORDS = {"catalog": _catalog, "inventory": inventory, "sales": sales,
          "production": production, "money": money, "tasks": tasks}


def words(company, module: ModuleType):
    """The constants a seed step names its data with: the Turkish ones for a company whose
    default language is Turkish, else the step module's own."""
    if company.default_language == LANGUAGE:
        found = _WORDS.get(module.__name__.rpartition(".")[2], module)
        return found() if callable(found) else found
    return module


_ASCII = str.maketrans({"ı": "i", "İ": "i", "ş": "s", "Ş": "s", "ğ": "g", "Ğ": "g", "ç": "c",
                        "Ç": "c", "ö": "o", "Ö": "o", "ü": "u", "Ü": "u", "â": "a"})


def slug(text: str) -> str:
    """A name as the ASCII of an e-mail address ("Işık" -> "isik"); ASCII stays as it is."""
    return text.translate(_ASCII).lower()
