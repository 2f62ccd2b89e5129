"""The default application form: today's eight sections as a questionnaire, given to every new call.

The template is data (`DEFAULT_FORM`, with `TRANSLATIONS` giving each English text in the other interface languages:
a new call's form reads in the applicant's language from the start): section keys, question keys, labels, help texts,
word limits, choices and required rules are those of the form that was written in code before the questionnaire
engine (issue 14), so an applicant sees the same form and the keys stay the old field names (URLs, posted field names,
exports). Questions whose answers other areas query carry a tag (applications.profile projects them onto the
applications row).
Migration 0014 holds its own frozen copy of this data: a migration must not change when this module does, so the
forms of calls created before the translations keep English only until staff translate them (Translations page).
"""

from __future__ import annotations

from typing import Any

from fellowship.questions.models import Questionnaire

#: Title of the questionnaire a call gets (the call's own title is added in front by default_application_form).
TITLE = "Application form"


#: Each English text of the default form in fr, pt, es, ar and ja, so a new call's form reads in the applicant's
#: language without staff work (staff may still reword any of them on the call's Translations page). The words the
#: interface catalogs already use for the same things (Nationality, Family name, the profile's choices) are kept.
TRANSLATIONS: dict[str, dict[str, str]] = {
    TITLE: {"fr": "Formulaire de candidature", "pt": "Formulário de candidatura", "es": "Formulario de solicitud",
            "ar": "نموذج الطلب", "ja": "応募フォーム"},
    # Sections
    "Personal details": {"fr": "Informations personnelles", "pt": "Dados pessoais", "es": "Datos personales",
                         "ar": "البيانات الشخصية", "ja": "個人情報"},
    "Education": {"fr": "Formation", "pt": "Formação académica", "es": "Formación académica", "ar": "التعليم",
                  "ja": "学歴"},
    "Work experience": {"fr": "Expérience professionnelle", "pt": "Experiência profissional",
                        "es": "Experiencia laboral", "ar": "الخبرة المهنية", "ja": "職歴"},
    "Environmental field": {"fr": "Domaine environnemental", "pt": "Área ambiental", "es": "Área ambiental",
                            "ar": "المجال البيئي", "ja": "環境分野"},
    "Study plan in Japan": {"fr": "Projet d'études au Japon", "pt": "Plano de estudos no Japão",
                            "es": "Plan de estudios en Japón", "ar": "خطة الدراسة في اليابان",
                            "ja": "日本での研究計画"},
    "Leadership plan for your home country": {
        "fr": "Projet de leadership pour votre pays", "pt": "Plano de liderança para o seu país",
        "es": "Plan de liderazgo para su país", "ar": "خطة القيادة في بلدك", "ja": "母国でのリーダーシップ計画"},
    "Motivation": {"fr": "Motivation", "pt": "Motivação", "es": "Motivación", "ar": "الدافع", "ja": "志望動機"},
    "Languages": {"fr": "Langues", "pt": "Idiomas", "es": "Idiomas", "ar": "اللغات", "ja": "言語"},
    # Questions and their help texts
    "Given name(s)": {"fr": "Prénom(s)", "pt": "Nome(s)", "es": "Nombre(s)", "ar": "الاسم الأول",
                      "ja": "名（ミドルネームを含む）"},
    "Family name": {"fr": "Nom de famille", "pt": "Nome de família", "es": "Apellido", "ar": "اسم العائلة",
                    "ja": "姓"},
    "Date of birth": {"fr": "Date de naissance", "pt": "Data de nascimento", "es": "Fecha de nacimiento",
                      "ar": "تاريخ الميلاد", "ja": "生年月日"},
    "As in your passport.": {"fr": "Telle qu'elle figure sur votre passeport.",
                             "pt": "Como consta no seu passaporte.", "es": "Tal como figura en su pasaporte.",
                             "ar": "كما هو مدوّن في جواز سفرك.", "ja": "パスポートの記載どおりに入力してください。"},
    "Gender": {"fr": "Genre", "pt": "Género", "es": "Género", "ar": "الجنس", "ja": "性別"},
    "Nationality": {"fr": "Nationalité", "pt": "Nacionalidade", "es": "Nacionalidad", "ar": "الجنسية", "ja": "国籍"},
    "Country of residence": {"fr": "Pays de résidence", "pt": "País de residência", "es": "País de residencia",
                             "ar": "بلد الإقامة", "ja": "居住国"},
    "Phone": {"fr": "Téléphone", "pt": "Telefone", "es": "Teléfono", "ar": "الهاتف", "ja": "電話番号"},
    "Highest degree completed": {"fr": "Diplôme le plus élevé obtenu", "pt": "Grau académico mais elevado concluído",
                                 "es": "Título más alto obtenido", "ar": "أعلى مؤهل دراسي حصلت عليه",
                                 "ja": "最終学歴（修了した最も高い学位）"},
    "Subject of that degree": {"fr": "Discipline de ce diplôme", "pt": "Área desse grau académico",
                               "es": "Disciplina de ese título", "ar": "تخصص هذا المؤهل", "ja": "その学位の専攻分野"},
    "University or institution": {"fr": "Université ou établissement", "pt": "Universidade ou instituição",
                                  "es": "Universidad o institución", "ar": "الجامعة أو المؤسسة",
                                  "ja": "大学・教育機関名"},
    "Year of graduation": {"fr": "Année d'obtention du diplôme", "pt": "Ano de conclusão", "es": "Año de graduación",
                           "ar": "سنة التخرج", "ja": "卒業年"},
    "Current position": {"fr": "Poste actuel", "pt": "Cargo atual", "es": "Puesto actual", "ar": "المنصب الحالي",
                         "ja": "現在の役職"},
    "Employer": {"fr": "Employeur", "pt": "Empregador", "es": "Empleador", "ar": "جهة العمل", "ja": "勤務先"},
    "Sector": {"fr": "Secteur", "pt": "Setor", "es": "Sector", "ar": "القطاع", "ja": "セクター"},
    "Years of work experience": {"fr": "Années d'expérience professionnelle", "pt": "Anos de experiência profissional",
                                 "es": "Años de experiencia laboral", "ar": "عدد سنوات الخبرة المهنية",
                                 "ja": "職務経験年数"},
    "Main environmental field": {"fr": "Domaine environnemental principal", "pt": "Principal área ambiental",
                                 "es": "Área ambiental principal", "ar": "المجال البيئي الرئيسي",
                                 "ja": "主な環境分野"},
    "Your work in this field": {"fr": "Votre travail dans ce domaine", "pt": "O seu trabalho nesta área",
                                "es": "Su trabajo en esta área", "ar": "عملك في هذا المجال",
                                "ja": "この分野でのあなたの活動"},
    "Preferred host institution in Japan (optional)": {
        "fr": "Établissement d'accueil souhaité au Japon (facultatif)",
        "pt": "Instituição de acolhimento preferida no Japão (opcional)",
        "es": "Institución anfitriona preferida en Japón (opcional)",
        "ar": "المؤسسة المضيفة المفضلة في اليابان (اختياري)", "ja": "日本での希望受入れ機関（任意）"},
    "What you will study in Japan, and why": {
        "fr": "Ce que vous étudierez au Japon, et pourquoi", "pt": "O que pretende estudar no Japão, e porquê",
        "es": "Qué estudiará en Japón y por qué", "ar": "ما الذي ستدرسه في اليابان، ولماذا",
        "ja": "日本で何を学ぶのか、その理由"},
    "How you will lead environmental work when you return home": {
        "fr": "Comment vous dirigerez l'action environnementale à votre retour dans votre pays",
        "pt": "Como pretende liderar o trabalho ambiental quando regressar ao seu país",
        "es": "Cómo liderará el trabajo ambiental cuando regrese a su país",
        "ar": "كيف ستقود العمل البيئي عند عودتك إلى بلدك",
        "ja": "帰国後、環境分野でどのようにリーダーシップを発揮するか"},
    "Motivation essay": {"fr": "Lettre de motivation", "pt": "Carta de motivação", "es": "Ensayo de motivación",
                         "ar": "مقال عن دوافعك", "ja": "志望動機（エッセイ）"},
    "English (CEFR level)": {"fr": "Anglais (niveau CECRL)", "pt": "Inglês (nível QECR)", "es": "Inglés (nivel MCER)",
                             "ar": "الإنجليزية (مستوى الإطار الأوروبي المرجعي)", "ja": "英語（CEFRレベル）"},
    "Japanese (CEFR level)": {"fr": "Japonais (niveau CECRL)", "pt": "Japonês (nível QECR)",
                              "es": "Japonés (nivel MCER)", "ar": "اليابانية (مستوى الإطار الأوروبي المرجعي)",
                              "ja": "日本語（CEFRレベル）"},
    "Language test and score (optional)": {
        "fr": "Test de langue et score obtenu (facultatif)", "pt": "Exame de idioma e pontuação (opcional)",
        "es": "Examen de idioma y puntuación (opcional)", "ar": "اختبار اللغة والدرجة (اختياري)",
        "ja": "語学試験とスコア（任意）"},
    "For example: IELTS 7.0, TOEFL iBT 95, JLPT N4.": {
        "fr": "Par exemple : IELTS 7.0, TOEFL iBT 95, JLPT N4.", "pt": "Por exemplo: IELTS 7.0, TOEFL iBT 95, JLPT N4.",
        "es": "Por ejemplo: IELTS 7.0, TOEFL iBT 95, JLPT N4.", "ar": "مثلًا: IELTS 7.0، TOEFL iBT 95، JLPT N4.",
        "ja": "例：IELTS 7.0、TOEFL iBT 95、JLPT N4"},
    # Choices (as the interface catalogs name the same profile values)
    "Female": {"fr": "Femme", "pt": "Feminino", "es": "Femenino", "ar": "أنثى", "ja": "女性"},
    "Male": {"fr": "Homme", "pt": "Masculino", "es": "Masculino", "ar": "ذكر", "ja": "男性"},
    "Non-binary": {"fr": "Non binaire", "pt": "Não binário", "es": "No binario", "ar": "غير ثنائي",
                   "ja": "ノンバイナリー"},
    "Prefer not to say": {"fr": "Je préfère ne pas répondre", "pt": "Prefiro não dizer", "es": "Prefiero no decirlo",
                          "ar": "أفضّل عدم الإفصاح", "ja": "回答しない"},
    "Secondary school": {"fr": "Études secondaires", "pt": "Ensino secundário (médio)", "es": "Educación secundaria",
                         "ar": "التعليم الثانوي", "ja": "中等教育"},
    "Bachelor's degree": {"fr": "Licence (bachelor)", "pt": "Licenciatura (bacharelado)", "es": "Licenciatura",
                          "ar": "درجة البكالوريوس", "ja": "学士"},
    "Master's degree": {"fr": "Master", "pt": "Mestrado", "es": "Maestría", "ar": "درجة الماجستير", "ja": "修士"},
    "Doctorate": {"fr": "Doctorat", "pt": "Doutoramento", "es": "Doctorado", "ar": "الدكتوراه", "ja": "博士"},
    "Government": {"fr": "Administration publique", "pt": "Governo", "es": "Gobierno", "ar": "جهة حكومية",
                   "ja": "政府機関"},
    "NGO / civil society": {"fr": "ONG / société civile", "pt": "ONG / sociedade civil", "es": "ONG / sociedad civil",
                            "ar": "منظمة غير حكومية / مجتمع مدني", "ja": "NGO・市民社会"},
    "University / research": {"fr": "Université / recherche", "pt": "Universidade / investigação",
                              "es": "Universidad / investigación", "ar": "جامعة / بحث علمي", "ja": "大学・研究機関"},
    "Private sector": {"fr": "Secteur privé", "pt": "Setor privado", "es": "Sector privado", "ar": "القطاع الخاص",
                       "ja": "民間企業"},
    "International organisation": {"fr": "Organisation internationale", "pt": "Organização internacional",
                                   "es": "Organización internacional", "ar": "منظمة دولية", "ja": "国際機関"},
    "Other": {"fr": "Autre", "pt": "Outro", "es": "Otro", "ar": "أخرى", "ja": "その他"},
    "Climate mitigation": {"fr": "Atténuation du changement climatique", "pt": "Mitigação climática",
                           "es": "Mitigación del cambio climático", "ar": "التخفيف من تغيّر المناخ",
                           "ja": "気候変動の緩和"},
    "Climate adaptation": {"fr": "Adaptation au changement climatique", "pt": "Adaptação climática",
                           "es": "Adaptación al cambio climático", "ar": "التكيّف مع تغيّر المناخ",
                           "ja": "気候変動への適応"},
    "Biodiversity": {"fr": "Biodiversité", "pt": "Biodiversidade", "es": "Biodiversidad", "ar": "التنوع البيولوجي",
                     "ja": "生物多様性"},
    "Water": {"fr": "Eau", "pt": "Água", "es": "Agua", "ar": "المياه", "ja": "水"},
    "Waste": {"fr": "Déchets", "pt": "Resíduos", "es": "Residuos", "ar": "النفايات", "ja": "廃棄物"},
    "Energy": {"fr": "Énergie", "pt": "Energia", "es": "Energía", "ar": "الطاقة", "ja": "エネルギー"},
    "Air quality": {"fr": "Qualité de l'air", "pt": "Qualidade do ar", "es": "Calidad del aire", "ar": "جودة الهواء",
                    "ja": "大気環境"},
    "Forests and land": {"fr": "Forêts et terres", "pt": "Florestas e terras", "es": "Bosques y tierras",
                         "ar": "الغابات والأراضي", "ja": "森林・土地"},
    "Oceans and coasts": {"fr": "Océans et littoraux", "pt": "Oceanos e zonas costeiras", "es": "Océanos y costas",
                          "ar": "المحيطات والسواحل", "ja": "海洋・沿岸"},
    "Disaster risk reduction": {"fr": "Réduction des risques de catastrophe", "pt": "Redução do risco de desastres",
                                "es": "Reducción del riesgo de desastres", "ar": "الحدّ من مخاطر الكوارث",
                                "ja": "防災・減災"},
    "Environmental policy": {"fr": "Politique environnementale", "pt": "Política ambiental",
                             "es": "Política ambiental", "ar": "السياسات البيئية", "ja": "環境政策"},
    "None": {"fr": "Aucun", "pt": "Nenhum", "es": "Ninguno", "ar": "لا شيء", "ja": "なし"},
    "Native speaker": {"fr": "Langue maternelle", "pt": "Língua materna", "es": "Hablante nativo", "ar": "لغة أم",
                       "ja": "母語話者"},
}

# The CEFR levels are codes every language writes alike: "translated" as themselves, so no call lists them as missing.
TRANSLATIONS.update({level: dict.fromkeys(("fr", "pt", "es", "ar", "ja"), level)
                     for level in ("A1", "A2", "B1", "B2", "C1", "C2")})


def texts(english: str) -> dict[str, str]:
    """`english` with its translations, as a questionnaire text ({"en": ..., "fr": ...})."""
    return {"en": english, **TRANSLATIONS.get(english, {})}


def _choices(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    return {"choices": [{"value": value, "label": texts(label)} for value, label in pairs]}


# The choices' English labels are written out (content a programme may reword), with the values of the enums the
# profile columns hold (applications.models: Gender, DegreeLevel, Sector, EnvironmentalField, LanguageLevel).
GENDERS = [("female", "Female"), ("male", "Male"), ("non_binary", "Non-binary"), ("undisclosed", "Prefer not to say")]
DEGREES = [("secondary", "Secondary school"), ("bachelor", "Bachelor's degree"), ("master", "Master's degree"),
           ("doctorate", "Doctorate")]
SECTORS = [("government", "Government"), ("ngo", "NGO / civil society"), ("academia", "University / research"),
           ("private", "Private sector"), ("international_organisation", "International organisation"),
           ("other", "Other")]
FIELDS = [("climate_mitigation", "Climate mitigation"), ("climate_adaptation", "Climate adaptation"),
          ("biodiversity", "Biodiversity"), ("water", "Water"), ("waste", "Waste"), ("energy", "Energy"),
          ("air_quality", "Air quality"), ("forests_land", "Forests and land"), ("oceans_coasts", "Oceans and coasts"),
          ("disaster_risk", "Disaster risk reduction"), ("environmental_policy", "Environmental policy"),
          ("other", "Other")]
LEVELS = [("none", "None"), ("A1", "A1"), ("A2", "A2"), ("B1", "B1"), ("B2", "B2"), ("C1", "C1"), ("C2", "C2"),
          ("native", "Native speaker")]


def _words(low: int, high: int) -> dict[str, str]:
    """The help text of an essay's length, in each language."""
    return {"en": f"{low}–{high} words.", "fr": f"De {low} à {high} mots.", "pt": f"De {low} a {high} palavras.",
            "es": f"De {low} a {high} palabras.", "ar": f"من {low} إلى {high} كلمة.", "ja": f"{low}～{high}語。"}


def _q(kind: str, key: str, label: str, *, required: bool = True, help_text: str | dict[str, str] | None = None,
       personal_data: bool = False, tag: str | None = None, config: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"kind": kind, "key": key, "label": label, "required": required, "help_text": help_text,
            "personal_data": personal_data, "tag": tag, "config": config or {}}


#: The eight sections of the application form, in order: (key, title, questions).
DEFAULT_FORM: list[dict[str, Any]] = [
    {"key": "personal", "title": "Personal details", "questions": [
        _q("short_text", "given_name", "Given name(s)", personal_data=True, tag="given_name",
           config={"max_length": 100}),
        _q("short_text", "family_name", "Family name", personal_data=True, tag="family_name",
           config={"max_length": 100}),
        _q("date", "date_of_birth", "Date of birth", help_text="As in your passport.", personal_data=True,
           tag="date_of_birth", config={"min": "1900-01-01", "min_years_ago": 0}),
        _q("single_choice", "gender", "Gender", personal_data=True, tag="gender", config=_choices(GENDERS)),
        _q("country", "nationality", "Nationality", tag="nationality"),
        _q("country", "country_of_residence", "Country of residence", tag="country_of_residence"),
        _q("short_text", "phone", "Phone", required=False, personal_data=True, config={"max_length": 40}),
    ]},
    {"key": "education", "title": "Education", "questions": [
        _q("single_choice", "highest_degree", "Highest degree completed", tag="highest_degree",
           config=_choices(DEGREES)),
        _q("short_text", "degree_subject", "Subject of that degree", config={"max_length": 200}),
        _q("short_text", "institution", "University or institution", tag="institution", config={"max_length": 200}),
        _q("number", "graduation_year", "Year of graduation", config={"min": 1950, "max": 2100, "integer": True}),
    ]},
    {"key": "experience", "title": "Work experience", "questions": [
        _q("short_text", "current_position", "Current position", config={"max_length": 200}),
        _q("short_text", "employer", "Employer", config={"max_length": 200}),
        _q("single_choice", "sector", "Sector", config=_choices(SECTORS)),
        _q("number", "years_experience", "Years of work experience", config={"min": 0, "max": 60, "integer": True}),
    ]},
    {"key": "field", "title": "Environmental field", "questions": [
        _q("single_choice", "environmental_field", "Main environmental field", tag="environmental_field",
           config=_choices(FIELDS)),
        _q("long_text", "field_description", "Your work in this field", help_text=_words(30, 300),
           config={"min_words": 30, "max_words": 300}),
    ]},
    {"key": "study_plan", "title": "Study plan in Japan", "questions": [
        _q("short_text", "preferred_host", "Preferred host institution in Japan (optional)", required=False,
           config={"max_length": 200}),
        _q("long_text", "study_plan", "What you will study in Japan, and why", help_text=_words(150, 1000),
           config={"min_words": 150, "max_words": 1000}),
    ]},
    {"key": "leadership", "title": "Leadership plan for your home country", "questions": [
        _q("long_text", "leadership_plan", "How you will lead environmental work when you return home",
           help_text=_words(150, 1000), config={"min_words": 150, "max_words": 1000}),
    ]},
    {"key": "motivation", "title": "Motivation", "questions": [
        _q("long_text", "motivation", "Motivation essay", help_text=_words(200, 800),
           config={"min_words": 200, "max_words": 800}),
    ]},
    {"key": "language", "title": "Languages", "questions": [
        # CEFR levels as a single choice, not the language_level kind: today's answers include "none" and "native".
        _q("single_choice", "english_level", "English (CEFR level)", config=_choices(LEVELS)),
        _q("single_choice", "japanese_level", "Japanese (CEFR level)", config=_choices(LEVELS)),
        _q("short_text", "language_test", "Language test and score (optional)", required=False,
           help_text="For example: IELTS 7.0, TOEFL iBT 95, JLPT N4.", config={"max_length": 200}),
    ]},
]


def default_application_form(title: str | None = None) -> Questionnaire:
    """A new questionnaire holding the default application form (unlocked, version 1), audited as one creation."""
    import fellowship.questions.services as questions
    from fellowship.questions.kinds import QuestionKind

    with questions.built_from_template("default"):
        questionnaire = questions.create_questionnaire({"en": title} if title else texts(TITLE))
        for section_data in DEFAULT_FORM:
            section = questions.add_section(questionnaire, section_data["key"], texts(section_data["title"]))
            for data in section_data["questions"]:
                help_text = data["help_text"]
                questions.add_question(
                    section, kind=QuestionKind(data["kind"]), key=data["key"], label=texts(data["label"]),
                    required=data["required"],
                    help_text=(texts(help_text) if isinstance(help_text, str) else help_text) if help_text else None,
                    personal_data=data["personal_data"], tag=data["tag"], config=data["config"] or None)
    # add_question counts each addition as a change; a brand-new form starts at version 1.
    questionnaire.version = 1
    return questionnaire
