"""Starting vocabularies of the catalogue (the inventory's own lists), loaded by a
data migration; themes and forms stay editable in the admin afterwards, the six factors do not.

Definitions are the project's own one-sentence wording, written for users of the catalogue.
"""

# The three plus-values of cooperation named by the Fabrique prospective, in its order: URL code,
# model field (several may hold for one cooperation, hence one boolean each), label, and the
# project's own one-sentence definition.
PLUS_VALUES = [
    (
        "echelles",
        "adds_scale",
        "Enjeux d'échelles",
        "La coopération traite à la bonne échelle des questions qui dépassent les limites de "
        "chaque territoire : bassins de vie, d'emploi ou de déplacements.",
    ),
    (
        "filieres",
        "adds_value_chain",
        "Filières",
        "La coopération organise une filière d'un territoire à l'autre, de la production aux "
        "débouchés.",
    ),
    (
        "mutualisation",
        "adds_pooling",
        "Mutualisation",
        "Les partenaires mettent en commun des services, des équipements ou de l'ingénierie.",
    ),
]
PLUS_VALUE_FIELDS = [(field, label) for _code, field, label, _definition in PLUS_VALUES]
PLUS_VALUE_CODES = [code for code, _field, _label, _definition in PLUS_VALUES]
PLUS_VALUE_FIELD_BY_CODE = {code: field for code, field, _label, _definition in PLUS_VALUES}

SUCCESS_FACTORS = [
    (
        "connaissance",
        "La connaissance des dynamiques interterritoriales",
        "Les partenaires partagent un diagnostic des flux, des interdépendances et des "
        "besoins qui relient leurs territoires.",
    ),
    (
        "vision",
        "Le partage d'une vision stratégique des coopérations",
        "Les élus s'accordent sur des objectifs communs et sur ce que chacun attend de la "
        "coopération.",
    ),
    (
        "gouvernance",
        "La mise en place d'espaces de gouvernance adaptés",
        "Des instances réunissent régulièrement les partenaires pour décider et suivre les "
        "actions communes.",
    ),
    (
        "competences",
        "L'allocation ou le partage de « compétences métiers »",
        "Des agents qualifiés sont affectés à l'animation de la coopération ou mis en commun "
        "entre les partenaires.",
    ),
    (
        "financements",
        "La définition de financements spécifiques",
        "La coopération dispose de crédits identifiés, apportés par les partenaires ou par "
        "d'autres financeurs.",
    ),
    (
        "cadre-juridique",
        "L'évolution du cadre juridique",
        "La coopération s'appuie sur un outil juridique adapté ou fait évoluer les règles qui "
        "la freinaient.",
    ),
]
FACTOR_CODES = [slug for slug, _label, _definition in SUCCESS_FACTORS]

THEMES = [
    (
        "developpement-economique-emploi",
        "Développement économique et emploi",
        "Soutien aux entreprises, implantation d'activités, insertion et accès à l'emploi.",
    ),
    (
        "attractivite-rayonnement",
        "Attractivité et rayonnement",
        "Promotion commune du territoire, marketing territorial et visibilité internationale.",
    ),
    (
        "enseignement-superieur-recherche-innovation",
        "Enseignement supérieur, recherche et innovation",
        "Implantations universitaires, laboratoires, transfert de technologie et innovation.",
    ),
    (
        "mobilites-transports",
        "Mobilités et transports",
        "Déplacements du quotidien, offres de transport partagées, covoiturage et intermodalité.",
    ),
    (
        "alimentation-agriculture",
        "Alimentation et agriculture",
        "Projets alimentaires territoriaux, circuits courts et débouchés pour l'agriculture.",
    ),
    (
        "tourisme-loisirs",
        "Tourisme et loisirs",
        "Offre touristique commune, itinéraires, promotion et équipements de loisirs.",
    ),
    (
        "culture-patrimoine-sport",
        "Culture, patrimoine et sport",
        "Programmation culturelle partagée, mise en valeur du patrimoine et équipements sportifs.",
    ),
    (
        "transition-ecologique-energie",
        "Transition écologique et énergie",
        "Plans climat, production d'énergies renouvelables, sobriété et adaptation.",
    ),
    (
        "foret-filiere-bois",
        "Forêt et filière bois",
        "Gestion forestière, approvisionnement en bois énergie et construction bois.",
    ),
    (
        "eau-dechets-biodiversite",
        "Eau, déchets et biodiversité",
        "Ressource en eau, traitement et valorisation des déchets, continuités écologiques.",
    ),
    (
        "sante-services-au-public",
        "Santé et services au public",
        "Accès aux soins, offre de services publics et équipements partagés.",
    ),
    (
        "numerique-tres-haut-debit",
        "Numérique et très haut débit",
        "Déploiement des réseaux, services numériques et inclusion numérique.",
    ),
    (
        "amenagement-urbanisme-habitat",
        "Aménagement, urbanisme et habitat",
        "Planification (SCoT), foncier, logement et revitalisation des centres.",
    ),
    (
        "logistique",
        "Logistique",
        "Organisation des flux de marchandises, plateformes et logistique urbaine.",
    ),
    (
        "observation-prospective",
        "Observation et prospective",
        "Observatoires partagés, études et exercices de prospective entre territoires.",
    ),
    (
        "littoral-maritime",
        "Littoral et maritime",
        "Gestion du trait de côte, activités portuaires et économie de la mer.",
    ),
]

LEGAL_FORMS = [
    (
        "contrat-de-reciprocite",
        "Contrat de réciprocité",
        "Contrat signé entre une métropole et un territoire voisin, souvent rural, autour "
        "d'actions d'intérêt mutuel.",
    ),
    (
        "pole-metropolitain",
        "Pôle métropolitain",
        "Syndicat mixte réunissant des EPCI pour mener des actions d'intérêt métropolitain "
        "(art. L5731-1 du CGCT).",
    ),
    (
        "entente",
        "Entente (art. L5221-1 CGCT)",
        "Accord entre collectivités ou EPCI sur des objets d'utilité commune relevant de "
        "leurs compétences, sans personnalité morale.",
    ),
    (
        "convention-de-cooperation",
        "Convention de coopération",
        "Convention fixant les engagements réciproques des partenaires sur un ou plusieurs objets.",
    ),
    (
        "protocole-accord-cadre",
        "Protocole ou accord-cadre",
        "Document d'intention qui fixe un cadre commun avant des conventions d'application.",
    ),
    (
        "pacte-de-cooperation",
        "Pacte de coopération",
        "Engagement politique pluriannuel entre territoires sur une stratégie partagée.",
    ),
    (
        "contrat-de-cooperation-territoriale",
        "Contrat de coopération territoriale",
        "Contrat associant plusieurs territoires et souvent l'État ou la région autour d'un "
        "programme d'actions.",
    ),
    (
        "syndicat-mixte",
        "Syndicat mixte",
        "Établissement public associant des collectivités et groupements pour exercer des "
        "compétences en commun.",
    ),
    (
        "groupement-europeen-cooperation-territoriale",
        "Groupement européen de coopération territoriale",
        "Structure de droit européen, dotée de la personnalité juridique, qui réunit des "
        "collectivités et des États de part et d'autre d'une frontière (règlement (CE) "
        "n° 1082/2006) : eurométropoles, eurodistricts.",
    ),
    (
        "groupement-interet-public",
        "Groupement d'intérêt public",
        "Personne morale de droit public réunissant des partenaires publics et privés autour "
        "d'une mission commune.",
    ),
    (
        "association-reseau-de-villes",
        "Association ou réseau de villes",
        "Association ou réseau qui fédère des collectivités pour échanger et agir ensemble.",
    ),
    (
        "charte",
        "Charte",
        "Texte d'engagements partagés, sans portée contraignante, signé par les partenaires.",
    ),
    (
        "conference-cooperation-informelle",
        "Conférence ou coopération informelle",
        "Coopération sans acte juridique : conférence des exécutifs, rencontres régulières, "
        "groupes de travail.",
    ),
]

# Word families of each theme, one family per line: the words of a line find each other in the
# public search (an adjective and its noun, which French stemming keeps apart: « alimentaire »
# and « alimentation »). The catalogue's own editorial choice, from the words the records and
# the themes' labels use; staff edit them in the admin.
THEME_WORD_FAMILIES = {
    "developpement-economique-emploi": "économie économique économiques\nemploi emplois employeur",
    "attractivite-rayonnement": "attractivité attractif attractive\nrayonnement rayonner",
    "enseignement-superieur-recherche-innovation": (
        "université universitaire universités\nrecherche chercheur\ninnovation innovant"
    ),
    "mobilites-transports": (
        "mobilité mobilités déplacement déplacements\ntransport transports\n"
        "ferroviaire train trains rail"
    ),
    "alimentation-agriculture": (
        # Not « restauration »: the records also use it for rivers and marshes restored.
        "alimentation alimentaire agroalimentaire aliment\nagriculture agricole agriculteur\n"
        "cantine cantines"
    ),
    "tourisme-loisirs": "tourisme touristique touriste",
    "culture-patrimoine-sport": "culture culturel culturelle\nsport sportif sportive",
    "transition-ecologique-energie": (
        "énergie énergétique énergies\nclimat climatique\nécologie écologique"
    ),
    "foret-filiere-bois": "forêt forêts forestier forestière",
    "eau-dechets-biodiversite": "eau hydraulique\ndéchet déchets",
    "sante-services-au-public": "santé sanitaire médical médicale soins",
    "numerique-tres-haut-debit": "numérique digital",
    "amenagement-urbanisme-habitat": "urbanisme urbain urbaine\nhabitat logement logements",
    "logistique": "logistique fret",
    "observation-prospective": "observation observatoire\nprospective prospectif",
    "littoral-maritime": "littoral littorale côte\nmer maritime marin",
}
