"""Hand-written Kolada metadata for the emulator: the 20 KPIs, counties, regions and the named kommuner.

Ids, titles and flags are public facts as listed by Kolada v3 on 2026-03-23; descriptions are shortened.
"""

from __future__ import annotations

from dataclasses import dataclass

YEARS = tuple(range(2015, 2025))
DISCONTINUED_LAST_YEAR = 2023


@dataclass(frozen=True)
class KpiSpec:
    """One KPI: its v3 metadata plus the value range the generator draws from."""

    id: str
    title: str
    description: str
    divided: bool
    municipality_type: str
    auspice: str
    operating_area: str
    perspective: str
    prel_publication_date: str | None
    publication_date: str | None
    publ_period: str | None
    low: float
    high: float
    decimals: int = 1
    has_ou_data: bool = False

    def as_kolada(self) -> dict:
        """The KPI object exactly as /v3/kpi returns it."""
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "is_divided_by_gender": self.divided,
            "municipality_type": self.municipality_type,
            "auspice": self.auspice,
            "operating_area": self.operating_area,
            "perspective": self.perspective,
            "prel_publication_date": self.prel_publication_date,
            "publication_date": self.publication_date,
            "publ_period": self.publ_period,
            "has_ou_data": self.has_ou_data,
        }

    @property
    def years(self) -> tuple[int, ...]:
        """Years with values: discontinued "(-2023)" series stop at 2023."""
        if self.title.endswith("(-2023)"):
            return tuple(y for y in YEARS if y <= DISCONTINUED_LAST_YEAR)
        return YEARS

    @property
    def is_count(self) -> bool:
        return self.title.endswith(", antal")


_AM = "Arbetsmarknad"
_IFO = "Individ- och familjeomsorg"
_KQ = "Kvalitet och resultat"

KPI_SPECS: tuple[KpiSpec, ...] = (
    KpiSpec("N40011", "Nettokostnad arbetsmarknadsåtgärder, kr/inv",
            "Nettokostnad för arbetsmarknadsåtgärder, dividerat med antal invånare 31/12. "
            "Källa: SCB:s Räkenskapssammandrag.",
            False, "K", "T", _AM, "Resurser", "2026-03-31", "2026-08-28", "2025", 200, 4000, 0),
    KpiSpec("U40800", "Deltagare i kommunala arbetsmarknadsåtgärder, antal",
            "Antal deltagare som har haft kommunala arbetsmarknadsåtgärder. "
            "Källa: Egen undersökning i kommunen.",
            True, "K", "T", _AM, "Volymer", None, None, None, 10, 3000, 0),
    KpiSpec("U40811", "Deltagare inom arbetsmarknadsverksamheten som är 24 år eller yngre, andel (%)",
            "Andel (%) av deltagarna inom arbetsmarknadsverksamheten som är 24 år eller yngre. "
            "Källa: Egen undersökning i kommunen.",
            False, "K", "T", _AM, "Volymer", None, None, None, 5, 60),
    KpiSpec("N03932",
            "Arbetslöshet 16-65 år, årsmedelvärde, andel (%) av registerbaserad arbetskraft (-2023)",
            "Öppet arbetslösa eller i program med aktivitetsstöd 16-65 år, andel av arbetskraften. "
            "Källa: Arbetsförmedlingen och SCB (RAMS).",
            True, "A", "X", _AM, "Övrigt", None, None, None, 2, 14),
    KpiSpec("N03926", "Långtidsarbetslösa i befolkningen, 25-65 år, andel (%)",
            "Invånare 25-65 år som varit arbetslösa i minst sex månader, andel av befolkningen 25-65 år. "
            "Källa: Arbetsförmedlingen.",
            True, "A", "X", _AM, "Övrigt", None, "2027-01-19", "2026", 1, 6),
    KpiSpec("N03927",
            "Arbetslöshet 16-24 år, årsmedelvärde, andel (%) av registerbaserad arbetskraft (-2023)",
            "Öppet arbetslösa eller i program med aktivitetsstöd 16-24 år, andel av arbetskraften. "
            "Källa: Arbetsförmedlingen och SCB (RAMS).",
            True, "A", "X", _AM, "Övrigt", None, None, None, 3, 25),
    KpiSpec("N02797", "Invånare 16-24 år som varken arbetar eller studerar, andel (%)",
            "Personer 16-24 år utan arbetsinkomst över ett basbelopp, studiemedel eller studier. "
            "Källa: MUCF.",
            True, "A", "T", "Befolkning", "Övrigt", None, "2026-05-15", "2024", 3, 14),
    KpiSpec("U40455",
            "Resultat vid avslut i kommunens arbetsmarknadsverksamhet, deltagare som börjat arbeta eller "
            "studera, andel (%)",
            "Andel (%) av avslutade deltagare i den kommunala arbetsmarknadsverksamheten som börjat arbeta "
            "eller studera. Källa: Egen undersökning i kommunen.",
            True, "K", "T", _AM, _KQ, None, None, None, 20, 60),
    KpiSpec("U40406",
            "Resultat vid avslut i kommunens arbetsmarknadsverksamhet, deltagare som A. Börjat arbeta, "
            "andel (%)",
            "Andel (%) av avslutade deltagare som börjat arbeta. Källa: Egen undersökning i kommunen.",
            True, "K", "T", _AM, _KQ, None, None, None, 10, 45),
    KpiSpec("U40409",
            "Resultat vid avslut i kommunens arbetsmarknadsverksamhet, deltagare som B. Börjat studera, "
            "andel (%)",
            "Andel (%) av avslutade deltagare som börjat studera. Källa: Egen undersökning i kommunen.",
            True, "K", "T", _AM, _KQ, None, None, None, 3, 25),
    KpiSpec("N00973",
            "Lämnat etableringsuppdraget och börjat arbeta eller studera (status efter 90 dagar), andel (%)",
            "Andel som lämnat etableringsuppdraget och börjat arbeta eller studera, status efter 90 dagar. "
            "Källa: SCB.",
            True, "K", "T", "Kommunen, övergripande", _KQ, None, "2026-06-02", "2025", 15, 60),
    KpiSpec("N30101", "Kostnad individ- och familjeomsorg, kr/inv",
            "Kostnad för individ- och familjeomsorgen, dividerad med antalet invånare 31/12. "
            "Källa: SCB:s Räkenskapssammandrag.",
            False, "K", "T", _IFO, "Resurser", "2026-03-31", "2026-08-28", "2025", 2500, 9000, 0),
    KpiSpec("N18601",
            "Ungdomar som är etablerade på arbetsmarknaden eller studerar 2 år efter gymnasieexamen, "
            "hemkommun, andel (%)",
            "Elever med gymnasieexamen år T-2 som studerar eller är etablerade på arbetsmarknaden år T. "
            "Källa: SCB.",
            True, "K", "T", "Gymnasieskola åk 1-3", _KQ, None, "2026-05-22", "2024", 55, 90),
    KpiSpec("N03941", "Arbetslösa av arbetskraften (BAS), 18-65 år, andel (%)",
            "Öppet arbetslösa eller i program med aktivitetsstöd 18-65 år, andel av arbetskraften (BAS). "
            "Källa: Arbetsförmedlingen och SCB (BAS).",
            True, "A", "X", _AM, "Övrigt", None, "2027-01-19", "2026", 2, 14),
    KpiSpec("N03942", "Arbetslösa av arbetskraften (BAS), 18-24 år, andel (%)",
            "Öppet arbetslösa eller i program med aktivitetsstöd 18-24 år, andel av arbetskraften (BAS). "
            "Källa: Arbetsförmedlingen och SCB (BAS).",
            True, "A", "X", _AM, "Övrigt", None, "2027-01-19", "2026", 4, 28),
    KpiSpec("N31807",
            "Invånare som någon gång under året erhållit ekonomiskt bistånd, andel (%) av bef.",
            "Invånare som någon gång under året erhållit ekonomiskt bistånd, andel av befolkningen. "
            "Källa: Socialstyrelsen & SCB.",
            False, "A", "T", _IFO, "Volymer", None, "2026-06-10", "2025", 1, 9),
    KpiSpec("N31816",
            "Vuxna biståndsmottagare (18+ år) med långvarigt ekonomiskt bistånd, andel (%) av befolkningen",
            "Vuxna med ekonomiskt bistånd 10-12 månader under året, andel av vuxna invånare. "
            "Källa: Socialstyrelsen.",
            True, "K", "T", _IFO, "Volymer", None, "2026-06-17", "2025", 0.3, 4),
    KpiSpec("N31814",
            "Vuxna biståndsmottagare (18+ år) med långvarigt ekonomiskt bistånd, andel (%) av "
            "biståndsmottagare 18+ år",
            "Vuxna med långvarigt ekonomiskt bistånd, andel av vuxna biståndsmottagare. "
            "Källa: Socialstyrelsen.",
            True, "K", "X", _IFO, _KQ, None, "2026-06-17", "2025", 15, 60, has_ou_data=True),
    KpiSpec("N31008", "Nettokostnad ekonomiskt bistånd, kr/inv",
            "Nettokostnad för ekonomiskt bistånd, dividerat med antal invånare 31/12. "
            "Källa: SCB:s Räkenskapssammandrag.",
            False, "K", "T", _IFO, "Resurser", "2026-03-31", "2026-08-28", "2025", 300, 3500, 0),
    KpiSpec("U31804", "Unga vuxna med ekonomiskt bistånd, andel (%) av invånare 18-24 år",
            "Unga vuxna 18-24 år som någon gång under året mottagit ekonomiskt bistånd, andel. "
            "Källa: Socialstyrelsen.",
            True, "K", "T", _IFO, "Volymer", None, "2026-06-10", "2025", 1, 12, has_ou_data=True),
)  # fmt: skip

KPI_BY_ID = {spec.id: spec for spec in KPI_SPECS}

# county code -> (county group id, county group title, region id, region title)
COUNTIES: dict[str, tuple[str, str, str, str]] = {
    "01": ("G33612", "Stockholms läns kommuner (ovägt medel)", "0001", "Region Stockholm"),
    "03": ("G33613", "Uppsala läns kommuner (ovägt medel)", "0003", "Region Uppsala"),
    "04": ("G33614", "Södermanlands läns kommuner (ovägt medel)", "0004", "Region Sörmland"),
    "05": ("G33615", "Östergötlands läns kommuner (ovägt medel)", "0005", "Region Östergötland"),
    "06": ("G33616", "Jönköpings läns kommuner (ovägt medel)", "0006", "Region Jönköpings län"),
    "07": ("G33617", "Kronobergs läns kommuner (ovägt medel)", "0007", "Region Kronoberg"),
    "08": ("G33618", "Kalmar läns kommuner (ovägt medel)", "0008", "Region Kalmar"),
    "09": ("G33619", "Gotlands läns kommuner (ovägt medel)", "0009", "Region Gotland"),
    "10": ("G33620", "Blekinge läns kommuner (ovägt medel)", "0010", "Region Blekinge"),
    "12": ("G33621", "Skåne läns kommuner (ovägt medel)", "0012", "Region Skåne"),
    "13": ("G33622", "Hallands läns kommuner (ovägt medel)", "0013", "Region Halland"),
    "14": ("G33623", "Västra Götalands läns kommuner (ovägt medel)", "0014", "Västra Götalandsregionen"),
    "17": ("G33624", "Värmlands läns kommuner (ovägt medel)", "0017", "Region Värmland"),
    "18": ("G33625", "Örebro läns kommuner (ovägt medel)", "0018", "Region Örebro län"),
    "19": ("G33626", "Västmanlands läns kommuner (ovägt medel)", "0019", "Region Västmanland"),
    "20": ("G33627", "Dalarnas läns kommuner (ovägt medel)", "0020", "Region Dalarna"),
    "21": ("G33628", "Gävleborgs läns kommuner (ovägt medel)", "0021", "Region Gävleborg"),
    "22": ("G33629", "Västernorrlands läns kommuner (ovägt medel)", "0022", "Region Västernorrland"),
    "23": ("G33630", "Jämtlands läns kommuner (ovägt medel)", "0023", "Region Jämtland Härjedalen"),
    "24": ("G33631", "Västerbottens läns kommuner (ovägt medel)", "0024", "Region Västerbotten"),
    "25": ("G33632", "Norrbottens läns kommuner (ovägt medel)", "0025", "Region Norrbotten"),
}

RIKET = ("0000", "Riket")

# group id -> (title, relative share of all kommuner, used to draw generated memberships)
SIZE_CLASSES: dict[str, tuple[str, int]] = {
    "G30823": ("Kommuner med 0 - 4 999 invånare (ovägt medel)", 17),
    "G30830": ("Kommuner med 5 000 - 9 999 invånare (ovägt medel)", 59),
    "G30824": ("Kommuner med 10 000 - 14 999 invånare (ovägt medel)", 56),
    "G30826": ("Kommuner med 15 000 - 19 999 invånare (ovägt medel)", 35),
    "G30827": ("Kommuner med 20 000 - 29 999 invånare (ovägt medel)", 35),
    "G30829": ("Kommuner med 30 000 - 49 999 invånare (ovägt medel)", 37),
    "G30831": ("Kommuner med 50 000 - 99 999 invånare (ovägt medel)", 31),
    "G30825": ("Kommuner med 100 000 - 199 999 invånare (ovägt medel)", 16),
    "G30828": ("Kommuner med fler än 200 000 invånare (ovägt medel)", 4),
}

SKR_GROUPS: dict[str, tuple[str, int]] = {
    "G92786": ("Lågpendlingskommun nära större stad (ovägt medel)", 24),
    "G92787": ("Storstäder (ovägt medel)", 3),
    "G92788": ("Mindre stad/tätort (ovägt medel)", 27),
    "G92789": ("Pendlingskommun nära mindre tätort (ovägt medel)", 51),
    "G92790": ("Större stad (ovägt medel)", 23),
    "G92791": ("Landsbygdskommun, ej nära större stad (ovägt medel)", 35),
    "G92792": ("Pendlingskommun nära större stad (ovägt medel)", 63),
    "G92793": ("Pendlingskommun nära storstad (ovägt medel)", 43),
    "G92794": ("Landsbygdskommun med besöksnäring (ovägt medel)", 21),
}

# The 18 named kommuner: id -> (title, size class, SKR kommungrupp, "Liknande kommuner arbetsmarknad" id).
# Memberships are the real ones; the county follows from the first two digits of the id.
NAMED_KOMMUNER: dict[str, tuple[str, str, str, str]] = {
    "0180": ("Stockholm", "G30828", "G92787", "G216293"),
    "0980": ("Gotland", "G30831", "G92788", "G216146"),
    "1080": ("Karlskrona", "G30831", "G92788", "G216190"),
    "1383": ("Varberg", "G30831", "G92788", "G216344"),
    "1489": ("Alingsås", "G30829", "G92793", "G216096"),
    "1496": ("Skövde", "G30831", "G92788", "G216284"),
    "2080": ("Falun", "G30831", "G92788", "G216136"),
    "2303": ("Ragunda", "G30830", "G92791", "G216270"),
    "2305": ("Bräcke", "G30830", "G92786", "G216118"),
    "2309": ("Krokom", "G30826", "G92792", "G216201"),
    "2313": ("Strömsund", "G30824", "G92791", "G216298"),
    "2321": ("Åre", "G30824", "G92794", "G216364"),
    "2326": ("Berg", "G30830", "G92786", "G216106"),
    "2361": ("Härjedalen", "G30824", "G92794", "G216174"),
    "2380": ("Östersund", "G30831", "G92790", "G216379"),
    "2480": ("Umeå", "G30825", "G92790", "G216333"),
    "2482": ("Skellefteå", "G30831", "G92788", "G216281"),
    "2580": ("Luleå", "G30831", "G92790", "G216225"),
}

# Hand-picked "Liknande kommuner arbetsmarknad" members inside the 18 (the kommun itself is never a member).
LIKNANDE_AM: dict[str, tuple[str, ...]] = {
    "2380": ("0980", "1080", "1383", "1489", "1496", "2080", "2580"),
    "2480": ("2380", "2580", "2080", "0180", "1496", "1383", "2482"),
}

# Decoys shared by both universes: (id, title, members).
DECOY_GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("G199001", "Liknande kommuner arbetsmarknad, Östersund, 2022",
     ("0980", "1080", "1383", "2482", "1496", "2080", "2580")),
    ("G216500", "Liknande kommuner IFO, Östersund, 2024",
     ("2482", "2580", "1080", "0980", "2080", "1496", "2480")),
    ("G114500", "Nätverk Mittsverige (ovägt medel)", ("2380", "2480", "2482", "2309")),
)  # fmt: skip


# Value ranges for the generator of KPI-set KPIs outside the 20 above (only the real universe has them):
# id -> (low, high, decimals).
EXTRA_RANGES: dict[str, tuple[float, float, int]] = {
    "N03935": (1, 12, 1),  # Arbetslösa av befolkningen, 18-24 år, andel (%)
    "N30005": (2000, 8000, 0),  # Nettokostnad individ- och familjeomsorg, kr/inv
}

# KPI groups (/v3/kpi_groups): ids and memberships hand-written, not Kolada's; members are among the 20 KPIs,
# so every universe can serve them. (id, title, member KPI ids)
KPI_GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("G2KPI900101", "Arbetsmarknad", ("N40011", "U40800", "U40811", "N03926", "N03941", "N03942", "U40455")),
    ("G2KPI900102", "Öppna jämförelser - Ekonomiskt bistånd", ("N31807", "N31816", "N31814", "U31804", "N31008")),
    ("G2KPI900103", "Kommunens kvalitet i korthet", ("N00973", "N18601", "U40455", "N31814")),
    ("G2KPI900104", "Unga som varken arbetar eller studerar", ("N02797", "N03927", "N03942", "U31804", "N18601")),
)  # fmt: skip


def county_of(kommun_id: str) -> str:
    """The county code (first two digits) of a kommun id."""
    return kommun_id[:2]
