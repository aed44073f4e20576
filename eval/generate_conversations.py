#!/usr/bin/env python3
"""Generate the long two-person conversation recall dataset ``conversations-v1``.

The dataset models a long-term conversational-memory benchmark: eight
fictional pairs of friends chat with each other over months, in 15-25 dated
sessions and 250-400 turns per conversation. Every turn is one utterance by
one speaker; both speakers are users of the memory, so every message has role
"user" and the speaker's first name in "name". Questions at the end of each
conversation name the turns (``evidence``) that hold what is needed to answer
them.

Question categories:
  single-hop           one turn states the fact; the question paraphrases it
  multi-hop            2-3 turns, usually from different sessions, must be combined
  temporal             when something happened (the evidence is the dated turn)
                       or which of two events came first
  open-domain          an inference ("would X enjoy ...?") from 2 turns that
                       show a preference or trait without naming the answer
  knowledge-update     a fact changed later; evidence is the later, updating turn
  adversarial-speaker  the other speaker has a parallel fact (both have a pet,
                       a sibling, a job, a hobby, a holiday ...); the evidence is
                       only the asked-about speaker's own turn

Hard distractors are built in: both speakers have parallel facts; siblings,
partners and colleagues of the two speakers have near-identical names; the
other speaker echoes or asks about a fact ("Wait, you went to Lisbon?");
plans, wishes and interim updates precede the dated or updating turn; and
everything else is small talk drawn from templates.

Stories are assembled from parameterised threads (pet, sibling, job, hobby,
trip, injury, home, partner, child, concert, book, birthday, event, traits);
every topic instance (pet, hobby, destination, job, band, ...) is drawn
without replacement for the whole dataset, so no two conversations share one,
and every sentence has alternative phrasings. The split is by conversation:
c01-c04 are the tuning split, c05-c08 the report split (disjoint people and
stories). Tune weights only on the tuning split.

All content is written for this file; people, bands, books, shows, companies
and streets are fictional (destinations and cities are real places).
Output is deterministic (fixed seed, stdlib only, no network). Run from the
repository root:

    python3 eval/generate_conversations.py [--examples]

This rewrites eval/datasets/conversations-v1-{tune,report}.jsonl, re-reads
them, runs a self-check and prints counts per split and category.
"""

import json
import random
import re
import sys
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

SEED = 20261201
HERE = Path(__file__).resolve().parent
OUT_PATHS = {
    "tune": HERE / "datasets" / "conversations-v1-tune.jsonl",
    "report": HERE / "datasets" / "conversations-v1-report.jsonl",
}
SPLITS = {"tune": ["c01", "c02", "c03", "c04"], "report": ["c05", "c06", "c07", "c08"]}
CATEGORIES = ("single-hop", "multi-hop", "temporal", "open-domain",
              "knowledge-update", "adversarial-speaker")
# Questions kept per conversation and category (fewer if a story has fewer).
QUOTA = {"single-hop": 7, "multi-hop": 6, "temporal": 7, "open-domain": 4,
         "knowledge-update": 4, "adversarial-speaker": 6}
MAX_FILE_BYTES = 1_500_000

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July",
          "August", "September", "October", "November", "December"]


def ordinal(n):
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def poss(name):
    return name + "'s"


def cap(text):
    return text[:1].upper() + text[1:]


def show_day(day):
    return f"{day.isoformat()} ({WEEKDAYS[day.weekday()]})"


class Person:
    """A speaker or somebody they talk about."""

    def __init__(self, name, gender):
        self.name = name
        self.gender = gender
        if gender == "f":
            self.they, self.them, self.their = "she", "her", "her"
        else:
            self.they, self.them, self.their = "he", "him", "his"
        self.poss = poss(name)

    def v(self, **extra):
        """Template variables for questions about this person."""
        out = {"p": self.name, "pp": self.poss, "they": self.they,
               "them": self.them, "their": self.their}
        out.update(extra)
        return out


def kin_word(person, female, male):
    return female if person.gender == "f" else male


# ---------------------------------------------------------------------------
# Relative dates. Past references always end a clause ("... {ref}.").
# ---------------------------------------------------------------------------

def past_ref(rng, day, night=False):
    """A phrase for a recent past day, and that day (answer documentation)."""
    kinds = ["yesterday", "weekday", "weekday", "date", "week"]
    if day.weekday() <= 3:
        kinds.append("weekend")
    kind = rng.choice(kinds)
    if kind == "yesterday":
        return ("last night" if night and rng.random() < 0.5 else "yesterday"), day - timedelta(days=1)
    if kind == "weekday":
        back = rng.randint(2, 6)
        when = day - timedelta(days=back)
        return rng.choice(["on ", "on ", "this past "]) + WEEKDAYS[when.weekday()], when
    if kind == "date":
        when = day - timedelta(days=rng.randint(2, 6))
        if when.month == day.month:
            return f"on the {ordinal(when.day)}", when
        return f"on the {ordinal(when.day)} of {MONTHS[when.month - 1]}", when
    if kind == "week":
        return "a week ago today", day - timedelta(days=7)
    return "last weekend", day - timedelta(days=day.weekday() + 2)


def plan_ref(rng, said, when):
    """How a plan made on day ``said`` refers to the later day ``when``."""
    months = (when.year - said.year) * 12 + when.month - said.month
    if months == 0:
        return rng.choice(["later this month", f"on the {ordinal(when.day)}"])
    if months == 1:
        return rng.choice(["next month", f"in {MONTHS[when.month - 1]}"])
    return f"in {MONTHS[when.month - 1]}"


# ---------------------------------------------------------------------------
# People. Main speakers and other people are drawn without replacement.
# ---------------------------------------------------------------------------

SPEAKERS = [
    ("Nadia", "f"), ("Beatrix", "f"), ("Rosalind", "f"), ("Yasmin", "f"), ("Greta", "f"),
    ("Louisa", "f"), ("Soraya", "f"), ("Imogen", "f"), ("Tamsin", "f"), ("Delphine", "f"),
    ("Wren", "f"), ("Priyanka", "f"),
    ("Declan", "m"), ("Ravi", "m"), ("Tobias", "m"), ("Gideon", "m"), ("Felix", "m"),
    ("Callum", "m"), ("Emeka", "m"), ("Lorenzo", "m"), ("Oskar", "m"), ("Hamish", "m"),
    ("Nikhil", "m"), ("Ambrose", "m"),
]

OTHER_NAMES = [
    ("Alma", "f"), ("Bryony", "f"), ("Cressida", "f"), ("Dina", "f"), ("Esme", "f"),
    ("Farah", "f"), ("Gwen", "f"), ("Ingrid", "f"), ("Juno", "f"), ("Keziah", "f"),
    ("Lorna", "f"), ("Mabel", "f"), ("Noor", "f"), ("Petra", "f"), ("Ruth", "f"),
    ("Selma", "f"), ("Thea", "f"), ("Una", "f"), ("Willa", "f"), ("Zara", "f"),
    ("Clio", "f"), ("Hana", "f"), ("Iris", "f"), ("Maud", "f"), ("Nell", "f"),
    ("Abel", "m"), ("Bram", "m"), ("Cormac", "m"), ("Dario", "m"), ("Ewan", "m"),
    ("Fergus", "m"), ("Gethin", "m"), ("Idris", "m"), ("Jasper", "m"), ("Kofi", "m"),
    ("Lars", "m"), ("Milo", "m"), ("Otto", "m"), ("Piers", "m"), ("Rafe", "m"),
    ("Silas", "m"), ("Tariq", "m"), ("Viktor", "m"), ("Wilf", "m"), ("Yusuf", "m"),
    ("Arlo", "m"), ("Caspar", "m"), ("Emil", "m"), ("Hugo", "m"), ("Joss", "m"),
]

# Near-identical names: the first goes to one speaker's relative, the second to
# the other speaker's relative or colleague.
NAME_PAIRS = [
    (("Jenna", "f"), ("Jenny", "f")), (("Marco", "m"), ("Marcus", "m")),
    (("Ellie", "f"), ("Ella", "f")), (("Tomasz", "m"), ("Thomas", "m")),
    (("Katie", "f"), ("Kat", "f")), (("Rosa", "f"), ("Rosie", "f")),
    (("Leon", "m"), ("Leona", "f")), (("Hattie", "f"), ("Hetty", "f")),
    (("Sami", "m"), ("Sammy", "f")), (("Nico", "m"), ("Nicola", "f")),
    (("Fern", "f"), ("Fran", "f")), (("Gus", "m"), ("Angus", "m")),
    (("Mia", "f"), ("Maia", "f")), (("Dev", "m"), ("Devi", "f")),
    (("Lola", "f"), ("Lottie", "f")), (("Ben", "m"), ("Benji", "m")),
]

# ---------------------------------------------------------------------------
# Topic pools.
# ---------------------------------------------------------------------------

# (description with article, noun used in questions, group for events)
PETS = [
    ("a scruffy border collie", "dog", "dog"), ("a retired racing greyhound", "dog", "dog"),
    ("a wire-haired dachshund", "dog", "dog"), ("a Staffie cross", "dog", "dog"),
    ("a black Labrador puppy", "dog", "dog"), ("a beagle with enormous ears", "dog", "dog"),
    ("a whippet", "dog", "dog"), ("a cocker spaniel", "dog", "dog"),
    ("a ginger tomcat", "cat", "cat"), ("a huge fluffy Maine Coon", "cat", "cat"),
    ("a one-eyed tabby", "cat", "cat"), ("a very chatty Siamese", "cat", "cat"),
    ("a black cat with white socks", "cat", "cat"), ("a Bengal kitten", "cat", "cat"),
    ("a lop-eared rabbit", "rabbit", "small"), ("a tiny dwarf rabbit", "rabbit", "small"),
    ("a ferret", "ferret", "small"), ("a long-haired guinea pig", "guinea pig", "small"),
    ("an African grey parrot", "parrot", "bird"), ("a cockatiel", "bird", "bird"),
    ("a tortoise", "tortoise", "reptile"), ("a leopard gecko", "lizard", "reptile"),
    ("a scruffy Jack Russell", "dog", "dog"), ("a Bernese mountain dog", "dog", "dog"),
    ("a grey British Shorthair", "cat", "cat"), ("a Syrian hamster", "hamster", "small"),
    ("a chinchilla", "chinchilla", "small"),
]

PET_NAMES = [
    "Biscuit", "Pickle", "Mango", "Pepper", "Juniper", "Waffles", "Noodle", "Clementine",
    "Ziggy", "Marmalade", "Bramble", "Otis", "Luna", "Tofu", "Pretzel", "Basil", "Sprout",
    "Dumpling", "Fig", "Moose", "Kiwi", "Olive", "Bean", "Rocket", "Toffee", "Hazel",
    "Gizmo", "Nacho", "Pumpkin", "Cosmo", "Maple", "Crumpet", "Nutmeg", "Pip", "Wasabi",
]

# (what happened, multi-hop question). {ps}/{po}/{pq} are the pet's pronouns.
PET_EVENTS = {
    "dog": [
        ("wolfed down a whole tray of brownies off the counter and we spent the night at the emergency vet",
         "What did {pp} dog eat off the counter?"),
        ("got a grass seed lodged between {pq} toes and needed a little operation",
         "Why did {pp} dog need a little operation?"),
        ("came top of the obedience class and got a rosette",
         "What did {pp} dog win at obedience class?"),
        ("has learned to ring a bell by the back door whenever {ps} wants to go out",
         "What has {pp} dog learned to do by the back door?"),
        ("swallowed one of my socks and had to be X-rayed",
         "Why did {pp} dog have to be X-rayed?"),
    ],
    "cat": [
        ("got stuck up next door's cherry tree and a firefighter had to bring {po} down",
         "Who had to bring {pp} cat down from a tree?"),
        ("carried a live frog into the kitchen at three in the morning",
         "What did {pp} cat carry into the kitchen?"),
        ("had to have two teeth pulled at the vet",
         "What did the vet have to do to {pp} cat?"),
        ("has worked out how to open the cupboard where the treats live",
         "What has {pp} cat worked out how to open?"),
        ("knocked my phone into a full bath",
         "What did {pp} cat knock into the bath?"),
    ],
    "small": [
        ("chewed clean through my laptop charger",
         "What did {pp} {kind} destroy of {their} laptop?"),
        ("squeezed under the fence and turned up in next door's greenhouse",
         "Where did {pp} {kind} turn up after squeezing under the fence?"),
        ("needed {pq} teeth filed down at the vet",
         "What did the vet have to do to the mouth of {pp} {kind}?"),
        ("won a rosette for best in show at the village fair",
         "What prize did {pp} {kind} take at a local show?"),
    ],
    "bird": [
        ("has learned to copy the microwave beep perfectly",
         "Which beep can {pp} {kind} copy?"),
        ("said a very rude word in front of my mum",
         "What embarrassing thing did {pp} {kind} do in front of a parent?"),
        ("flew out of the window and came back two hours later on the postman's shoulder",
         "Whose shoulder did {pp} {kind} come back on?"),
    ],
    "reptile": [
        ("shed {pq} entire skin in one piece",
         "What did {pp} {kind} shed all in one go?"),
        ("climbed out of the tank and I found {po} asleep in my trainer",
         "Where did {p} find {their} {kind} asleep?"),
        ("stopped eating for a week and the vet thinks the tank is too cold",
         "Why did {pp} {kind} stop eating, according to the vet?"),
    ],
}

# (the owner's phrasing, the sibling's-pet phrasing, the answer). Mammals only.
PET_TRAITS = [
    ("is absolutely terrified of thunder", "bolts under the bed the moment a storm starts",
     "both are frightened of thunderstorms"),
    ("has one blue eye and one brown one", "has odd eyes, one amber and one pale blue",
     "both have two different-coloured eyes"),
    ("only has three legs, which doesn't slow {po} down one bit", "lost a back leg as a baby and gets about fine on the other three",
     "both have only three legs"),
    ("will do absolutely anything for a slice of cucumber", "goes wild for cucumber peel",
     "both are obsessed with cucumber"),
    ("was found abandoned in a shoebox outside a supermarket", "was rescued from a cardboard box left by the bins",
     "both were found abandoned in boxes"),
    ("snores louder than my dad", "snores like a tractor all night",
     "both snore loudly"),
    ("is deaf in one ear", "can only hear on one side",
     "both are partly deaf"),
    ("steals socks and hides them under the sofa", "hoards stolen socks in a secret stash",
     "both steal and hide socks"),
]

SIB_JOBS = [
    "has just qualified as a paramedic", "has started as a sous-chef at a seafood restaurant",
    "is training to be a commercial pilot", "teaches maths at a huge secondary school",
    "restores stained-glass windows in old churches", "is a junior doctor on a children's ward",
    "works as a sound engineer for a touring theatre company", "has become a tree surgeon",
    "runs a tiny bike repair shop", "does the accounts for a football club",
    "looks after the penguins at the zoo", "presents the late-night show on a local radio station",
    "has gone freelance as a wedding photographer", "has joined the coastguard",
    "designs board games for a living", "works as a midwife", "is a firefighter",
    "has started an apprenticeship as an electrician", "writes subtitles for foreign films",
    "is a forensic accountant",
]

# (news, how a question describes it). {sthey}/{stheir} are the sibling's pronouns.
SIB_EVENTS = [
    ("and {stheir} partner are expecting a baby in {month}", "is about to become a parent"),
    ("got engaged at the top of a lighthouse", "recently got engaged"),
    ("has bought a narrowboat and is going to live on it", "is moving onto a canal boat"),
    ("has just finished {stheir} first ultramarathon, fifty miles over the hills", "completed an ultra-distance race"),
    ("is learning to fly gliders at the weekends", "has taken up gliding"),
    ("has adopted a retired police horse, of all things", "took in an animal that used to work for the police"),
    ("has been picked to appear on a TV quiz show", "is going to be a contestant on a game show"),
    ("shaved {stheir} head for charity and raised nearly a thousand pounds", "went bald for a good cause"),
    ("is taking a year off to cycle the length of South America", "is planning a huge cycling expedition abroad"),
    ("won first prize for a pork pie at the county show", "took a top prize for a pastry"),
]

HOME_CITIES = [
    "Leeds", "Glasgow", "Cardiff", "Belfast", "Norwich", "York", "Dundee", "Plymouth",
    "Brighton", "Newcastle", "Aberdeen", "Inverness", "Swansea", "Bath", "Sheffield",
    "Nottingham", "Exeter", "Carlisle", "Hull", "Derby", "Durham", "Lincoln", "Chester",
    "Stirling", "Oban", "Margate",
]

# (job with article, employer, an inference question the job answers "yes" to)
JOBS = [
    ("a physiotherapist", "Brightmere Sports Clinic", "Could {p} give sensible advice on recovering from a pulled muscle?"),
    ("a data analyst", "Cobalt Analytics", "Would {p} be comfortable building a complicated spreadsheet model?"),
    ("a primary school teacher", "Bellhaven Primary", "Would {p} be good at keeping a room full of seven-year-olds entertained?"),
    ("a pharmacist", "Millbrook Pharmacy", "Could {p} tell a friend whether two medicines are safe to take together?"),
    ("an architect", "Ostrander Architects", "Would {p} be able to sketch plans for a house extension?"),
    ("a payroll accountant", "Pellworth Bank", "Could {p} explain a confusing payslip to a friend?"),
    ("a museum conservator", "the Thornbury Museum", "Would {p} know how to look after a fragile old painting?"),
    ("a veterinary nurse", "Orchard Lane Vets", "Would {p} know what to do if a friend's puppy cut its paw?"),
    ("a translator", "Lindqvist Language Services", "Is {p} likely to speak more than one language fluently?"),
    ("a park ranger", "Northgate Country Park", "Would {p} know the local footpaths and wildlife well?"),
    ("a graphic designer", "Redfern Media", "Could {p} come up with a logo for a friend's new business?"),
    ("a train conductor", "Kestrel Rail", "Would {p} be a good person to ask about railway timetables and tickets?"),
    ("a dental hygienist", "Maple Row Dental", "Would {p} have strong opinions on how people brush their teeth?"),
    ("a software tester", "Quillon Software", "Would {p} be good at finding bugs in a friend's new app?"),
    ("an estate agent", "Fennick & Rowe", "Could {p} give a decent guess at what a flat might sell for?"),
    ("a librarian", "the Greyfriars Library", "Would {p} be good at helping someone research their family history?"),
    ("a florist", "Bloom & Bramble", "Could {p} put together a wedding bouquet?"),
    ("a radiographer", "St Aldhelm's Hospital", "Would {p} know how to take an X-ray?"),
    ("a copywriter", "Blue Heron Advertising", "Could {p} help polish the wording of a friend's CV?"),
    ("a lab technician", "Ashdown Labs", "Would {p} be comfortable handling chemicals safely?"),
    ("an insurance underwriter", "Larkspur Insurance", "Would {p} be good at weighing up risks?"),
    ("an events manager", "the Harbourview Hotel", "Could {p} organise a big party without breaking a sweat?"),
    ("a logistics coordinator", "Wexford Freight", "Would {p} be good at planning the logistics of a house move?"),
    ("a chef", "Caraway Kitchen", "Could {p} cook a three-course dinner for ten people?"),
    ("a journalist", "the Evening Courier", "Would {p} be comfortable interviewing a stranger?"),
    ("a surveyor", "Granite & Pine Surveyors", "Could {p} spot structural problems in a house a friend wants to buy?"),
    ("a travel agent", "Featherstone Travel", "Would {p} be a good person to ask for help booking a complicated trip?"),
    ("an energy engineer", "Selkirk Energy", "Could {p} advise on making a home more energy efficient?"),
]

PROMOTIONS = ["team leader", "deputy manager", "head of the whole department",
              "senior manager for the region", "the person in charge of training new starters"]

WORK_CITIES = ["Frankfurt", "Rotterdam", "Lyon", "Milan", "Dublin", "Gothenburg", "Zurich",
               "Brussels", "Hamburg", "Madrid", "Oslo", "Warsaw", "Antwerp", "Geneva",
               "Stockholm", "Turin", "Stuttgart", "Bordeaux"]

# (start phrase, short name, question phrase, progress statement, progress question,
#  physical, preference groups it contradicts)
HOBBIES = [
    ("pottery classes at the arts centre", "pottery", "working with clay",
     "I finally made a mug that doesn't leak! The handle's wonky, but it holds tea.",
     "What did {p} finally manage to make that holds tea?", False, ()),
    ("salsa lessons at the community centre", "salsa", "partner dancing",
     "My teacher says I've stopped treading on people's toes, which is the nicest thing anyone's said to me all year.",
     "What compliment did {p} get from {their} dance teacher?", True, ()),
    ("bouldering at the new climbing wall", "bouldering", "climbing indoors",
     "I got up my first purple route, two grades harder than anything I managed last month.",
     "Which route did {p} manage to climb?", True, ("heights",)),
    ("watercolour classes at the library", "watercolour", "painting",
     "A neighbour bought one of my little harbour paintings for twenty quid!",
     "How much did a neighbour pay {p} for a picture?", False, ()),
    ("singing with a community choir", "choir", "singing in a group",
     "We're performing at the cathedral carol service and I've been given a tiny solo.",
     "What part has {p} been given for the carol concert?", False, ()),
    ("fencing at the university club", "fencing", "sword fighting",
     "I won my first proper bout, five touches to three.",
     "What was the score when {p} won for the first time?", True, ()),
    ("a woodworking evening course", "woodwork", "carpentry",
     "I made a bedside table with actual dovetail joints.",
     "What piece of furniture with fancy joints did {p} build?", False, ()),
    ("Italian lessons at the adult education college", "Italian", "learning a foreign language",
     "I ordered an entire meal at the trattoria and the waiter never once switched to English.",
     "What did {p} manage to do with a waiter thanks to {their} lessons?", False, ()),
    ("kayaking with a club down at the reservoir", "kayaking", "paddling",
     "I managed my first roll without swallowing half the reservoir.",
     "What did {p} manage for the first time at the reservoir?", True, ("seasick",)),
    ("archery in the field behind the leisure centre", "archery", "shooting arrows",
     "Hit the gold three times in a single round!",
     "How many bullseyes did {p} get in one round?", False, ()),
    ("adult swimming lessons", "swimming", "learning to swim properly",
     "I did a whole length of front crawl without stopping or grabbing the side.",
     "How far could {p} swim without stopping?", True, ()),
    ("Brazilian jiu-jitsu at a gym near work", "jiu-jitsu", "a grappling martial art",
     "I got my first stripe on my white belt!",
     "What did {p} earn on {their} belt?", True, ()),
    ("a knitting circle at the cafe", "knitting", "making things with yarn",
     "Finished my first scarf. One end is wider than the other, but I'm calling it a design choice.",
     "What was the first item {p} completed with needles, and what's wrong with it?", False, ()),
    ("piano lessons with a retired music teacher", "piano", "learning an instrument",
     "I can play the first page of a Chopin nocturne. Slowly. With mistakes.",
     "Which composer can {p} now play, slowly?", False, ()),
    ("life drawing sessions at the art school", "life drawing", "sketching from a model",
     "The tutor pinned one of my charcoal sketches on the wall as the example for everyone.",
     "What did the tutor do with one of {pp} sketches?", False, ()),
    ("a beekeeping course at the allotments", "beekeeping", "looking after hives",
     "We took our very first jar of honey off the hive today.",
     "What did {p} take from the hive for the first time?", False, ()),
    ("rowing with the river club", "rowing", "crewing a boat",
     "Our crew came second at the regatta!",
     "Where did {pp} crew finish in the race?", True, ("seasick",)),
    ("improv comedy classes", "improv", "unscripted comedy",
     "Did my first improv show in front of a real audience and nobody threw anything.",
     "How did {pp} first show go?", False, ()),
    ("a calligraphy workshop", "calligraphy", "decorative lettering",
     "I did all the place cards for my friend's wedding by hand.",
     "What did {p} hand-letter for a friend?", False, ()),
    ("a beginners' running club", "running", "jogging with a group",
     "I ran 5k in under thirty minutes for the first time!",
     "What time did {p} beat over 5k?", True, ()),
    ("tap dancing classes", "tap dancing", "dancing in metal-soled shoes",
     "I can finally do a shuffle ball change at proper speed.",
     "Which step can {p} finally do at speed?", True, ()),
    ("an evening photography course", "photography", "taking pictures seriously",
     "One of my shots of the pier got printed in the local paper.",
     "Which paper printed one of {pp} pictures?", False, ()),
    ("ice skating lessons at the rink", "skating", "gliding on the ice",
     "I skated backwards the whole length of the rink without falling over.",
     "What did {p} manage at the rink?", True, ()),
    ("birdwatching walks with the local wildlife group", "birdwatching", "spotting birds",
     "I saw a kingfisher on the river this morning, a proper flash of blue.",
     "What blue bird did {p} see by the river?", False, ()),
    ("stand-up paddleboarding on the lake", "paddleboarding", "standing on a board on the water",
     "I paddled all the way across the lake without falling in once.",
     "What did {p} achieve on the lake?", True, ("seasick",)),
    ("chess club at the pub", "chess", "a board game club",
     "I beat the club champion! He'd clearly had a long day, but still.",
     "Who did {p} beat?", False, ()),
]

# (name, description for questions, preposition, detail 1, question 1, detail 2, question 2)
# Questions use {d} = "<prep> <description>".
PLACES = [
    ("Lisbon", "the Portuguese capital", "in",
     "I had a custard tart for breakfast every single morning",
     "What did {p} eat each morning while staying {d}?",
     "the creaky yellow tram up the hill to the castle was my favourite thing",
     "How did {p} enjoy getting up to the castle {d}?"),
    ("Krakow", "a city in southern Poland", "in",
     "we went deep underground into the old salt mine",
     "Which mine did {p} go down into {d}?",
     "I ate pierogi at every single meal",
     "What did {p} eat at every meal {d}?"),
    ("Edinburgh", "the Scottish capital", "in",
     "we hiked up Arthur's Seat in sideways rain",
     "What did {p} climb in the rain {d}?",
     "we ended up at a comedy show in a cellar at midnight",
     "What did {p} see in a cellar {d}?"),
    ("Seville", "a city in Andalusia", "in",
     "we watched flamenco in a bar the size of my kitchen",
     "What did {p} watch in a tiny bar {d}?",
     "it hit thirty-nine degrees, so we only went out after dark",
     "Why did {p} only venture out in the evenings {d}?"),
    ("Bruges", "a medieval town in Flanders", "in",
     "I spent a small fortune on chocolate",
     "What did {p} spend a fortune on {d}?",
     "the boat trip round the canals was freezing but gorgeous",
     "How did {p} find the canal boat trip {d}?"),
    ("Reykjavik", "Iceland's capital", "in",
     "we saw the northern lights from the hotel roof on the last night",
     "What did {p} see in the night sky {d}?",
     "floating in a hot geothermal pool while it snowed was unreal",
     "Where did {p} float while it snowed {d}?"),
    ("Tallinn", "the Estonian capital", "in",
     "the old town with its walls and pointy towers looks like a fairytale",
     "What did the old town {d} remind {p} of?",
     "we hopped on the ferry over to Helsinki for a day",
     "Which city did {p} take a ferry to from {desc}?"),
    ("Kyoto", "Japan's former imperial capital", "in",
     "we got up at five to walk through the orange shrine gates before the crowds",
     "Why did {p} get up at five {d}?",
     "we stayed one night in a temple and ate breakfast with the monks",
     "Who did {p} eat breakfast with {d}?"),
    ("Dubrovnik", "a fortified port on the Adriatic", "in",
     "we walked the entire city wall in the midday heat",
     "What did {p} walk along in the midday heat {d}?",
     "we kayaked out to a little island and back",
     "How did {p} reach the island near {desc}?"),
    ("Marrakesh", "a Moroccan city", "in",
     "I got hopelessly lost in the souks, twice",
     "Where did {p} get lost {d}?",
     "we took a cooking class and made a lamb tagine",
     "What did {p} make in a cooking class {d}?"),
    ("Copenhagen", "the Danish capital", "in",
     "we rented bikes and didn't take a single taxi",
     "How did {p} get around {d} without a taxi?",
     "the old amusement park with the wooden rollercoaster was the best bit",
     "Which attraction did {p} like best {d}?"),
    ("Vienna", "the Austrian capital", "in",
     "we queued for cheap standing tickets at the opera",
     "What did {p} get cheap tickets for {d}?",
     "I finally ate the famous chocolate cake at the old hotel and it was dry, sorry",
     "Which famous treat disappointed {p} {d}?"),
    ("Naples", "a southern Italian port city", "in",
     "we climbed right up to the crater of Vesuvius",
     "Which crater did {p} climb up to near {desc}?",
     "the pizza was so good I had it twice a day",
     "What did {p} eat twice daily {d}?"),
    ("Ljubljana", "Slovenia's capital", "in",
     "we took a day trip to Lake Bled and rowed out to the island church",
     "Where did {p} go on a day trip from {desc}?",
     "there are dragon statues guarding one of the bridges",
     "According to {p}, what statues are on a bridge {d}?"),
    ("Skye", "a Scottish island", "on",
     "we swam in the fairy pools, which were glacial",
     "Which pools did {p} swim in {d}?",
     "the midges ate me alive",
     "What ate {p} alive {d}?"),
    ("Amsterdam", "the Dutch capital", "in",
     "we stayed on a houseboat that creaked all night",
     "Where did {p} sleep {d}?",
     "we cycled out of town to see the windmills",
     "What did {p} pedal out of the city to look at {d}?"),
    ("Budapest", "the Hungarian capital", "in",
     "we spent a whole afternoon in the steaming thermal baths",
     "How did {p} spend an afternoon relaxing {d}?",
     "we played chess in the water with some old men and lost badly",
     "Which game did {p} play in the water {d}?"),
    ("Valencia", "a Spanish city on the Mediterranean", "in",
     "we had paella cooked over an orange-wood fire",
     "What dish cooked over a fire did {p} eat {d}?",
     "the futuristic science museum looks like a whale skeleton",
     "What does the science museum {d} look like, according to {p}?"),
    ("Montreal", "a French-speaking Canadian city", "in",
     "the bagels are better than New York's, fight me",
     "Which bread did {p} say beats New York's?",
     "we walked up the mountain in the middle of the city for the view",
     "What did {p} hike up for a view {d}?"),
    ("Hanoi", "Vietnam's capital", "in",
     "crossing the road through all the motorbikes took nerves of steel",
     "What made crossing the road scary for {p} {d}?",
     "I'm now completely addicted to egg coffee",
     "Which coffee did {p} get hooked on {d}?"),
    ("Istanbul", "the Turkish city on the Bosphorus", "in",
     "we took the ferry between Europe and Asia for the price of a bus ticket",
     "How did {p} travel between Europe and Asia {d}?",
     "I haggled for a rug in the bazaar and definitely overpaid",
     "What did {p} haggle for in the bazaar {d}?"),
    ("Athens", "the Greek capital", "in",
     "we watched the sun set over the Acropolis from a rooftop bar",
     "Which ancient site could {p} see from a rooftop {d}?",
     "a stray cat followed us around for three whole days",
     "What followed {p} around {d}?"),
    ("Bergen", "a Norwegian fjord city", "in",
     "it rained every single day, which the locals swear is normal",
     "What do the locals {d} call normal weather, according to {p}?",
     "we took the funicular up the mountain above the harbour",
     "How did {p} get up the mountain {d}?"),
    ("Florence", "the Tuscan city", "in",
     "I climbed all the steps to the top of the cathedral dome",
     "What did {p} climb to the top of {d}?",
     "I had gelato three times a day and regret nothing",
     "What did {p} eat three times a day {d}?"),
    ("Galway", "a city on Ireland's west coast", "in",
     "we found traditional music in a different pub every night",
     "What did {p} find in a pub every night {d}?",
     "we drove out to the cliffs and nearly lost the car door in the wind",
     "What coastal sight did {p} drive out to from {desc}?"),
    ("Prague", "the Czech capital", "in",
     "we watched the astronomical clock do its little show on the hour",
     "What did {p} watch put on a show every hour {d}?",
     "we crossed the old stone bridge at sunrise when it was empty",
     "When did {p} cross the famous bridge {d}, and why?"),
    ("Crete", "the largest Greek island", "on",
     "we hiked all the way down a huge gorge to the sea",
     "What did {p} walk down to reach the sea {d}?",
     "the taverna owner gave us free raki every single night",
     "What did a restaurant owner give {p} for free {d}?"),
    ("Cornwall", "England's far south-west tip", "in",
     "I had my first surfing lesson and stood up exactly once",
     "What lesson did {p} have {d}?",
     "a seagull stole my pasty right out of my hand",
     "What did a seagull steal from {p} {d}?"),
]

# (how the speaker says it, how a question says it)
COMPANIONS = [
    ("with my mum", "{their} mum"), ("with two friends from uni", "two old friends from university"),
    ("with my cousin", "a cousin"), ("with my dad", "{their} father"),
    ("with my best mate", "{their} best friend"), ("with my aunt", "{their} aunt"),
    ("with my five-a-side team", "{their} football teammates"),
    ("with my gran", "{their} grandmother"),
]

# Open-domain traits: (id, exclusive group, question, answer, first statements,
# second statements, what the other speaker says instead).
TRAITS = [
    ("outdoors", "outdoors", "Would {p} be likely to enjoy a camping holiday?", "yes",
     ["Spent Sunday on the ridge path from sunrise to sunset and didn't see a single car all day.",
      "Walked twenty miles over the moors at the weekend and I'd go back tomorrow."],
     ["The best sleep I've had all year was in a hammock strung between two pines by the lake.",
      "We lay out on the hillside counting shooting stars until two in the morning. Bliss."],
     ["You couldn't pay me to sleep anywhere without a proper mattress and a hot shower.",
      "My idea of roughing it is a hotel without room service."]),
    ("spicy", "spicy", "Would {p} enjoy a restaurant famous for fiery Sichuan cooking?", "yes",
     ["I asked for the hottest curry on the menu and still added chilli flakes.",
      "The waiter warned me the wings were seriously hot. They were not."],
     ["My balcony is basically a scotch bonnet farm now; they go in everything, even my eggs.",
      "I carry a little bottle of habanero sauce in my bag at all times."],
     ["Even black pepper makes my eyes water, honestly.",
      "I had to drink a pint of milk after one jalapeno."]),
    ("heights", "heights", "Would {p} sign up for a tandem skydive?", "no",
     ["I couldn't make myself step onto the glass floor at the top of the tower. My legs just refused.",
      "Halfway up the lighthouse stairs I had to sit down and shuffle back down on my bum."],
     ["I paid someone to clear the gutters rather than go up the ladder myself.",
      "Even standing on a chair to change a light bulb makes my palms sweat."],
     ["I'd do another bungee jump tomorrow if anyone let me.",
      "The higher the viewpoint, the happier I am."]),
    ("crowds", "quiet", "Would {p} have a good time at a packed three-day music festival?", "no",
     ["Left the gig after twenty minutes. Being squashed between strangers makes me panic.",
      "The shopping centre on a Saturday is my personal nightmare; I walked straight back out."],
     ["I do the big food shop at seven in the morning purely so the aisles are empty.",
      "I took the long way home just to avoid the crush at the Christmas market."],
     ["The busier the party, the better, as far as I'm concerned.",
      "Give me a heaving dance floor any day of the week."]),
    ("morning", "morning", "Is {p} more of an early bird or a night owl?", "an early bird",
     ["I'm up at half five every day without an alarm, even at weekends.",
      "I'd done a run, a load of washing and all my emails by seven this morning."],
     ["By nine at night I'm useless; I'm usually asleep before the news.",
      "Someone suggested a film at ten and I nearly laughed. That's way past my bedtime."],
     ["I do my best thinking after midnight.",
      "Mornings should be illegal. I'm not human before eleven."]),
    ("coldwater", "coldwater", "Would {p} be up for joining a winter sea-swimming group?", "yes",
     ["Went for a dip in the river before work this morning. Bracing, but I feel amazing.",
      "I've started ending every shower on full cold and now I can't stop."],
     ["Tried an ice bath at the spa and stayed in for four whole minutes.",
      "There was frost on the grass and I still swam lengths of the outdoor lido."],
     ["I need my bath water hot enough to cook pasta in.",
      "I wear a scarf indoors from October onwards."]),
    ("history", "history", "Would {p} enjoy a guided tour of a medieval castle?", "yes",
     ["I've been reading about the Wars of the Roses every night. I'm obsessed.",
      "Spent Saturday at the records office finding out who lived on my street in 1850."],
     ["I dragged everyone round the abbey ruins and read out every single information board.",
      "Bought a replica Roman coin at the museum shop and I carry it around like a lucky charm."],
     ["Museums bore me senseless, I'm afraid.",
      "Old ruins all look like piles of stones to me."]),
    ("seasick", "seasick", "Would {p} enjoy a week-long sailing holiday?", "no",
     ["The ferry crossing was grim. I was green the whole way and had to lie flat on the deck.",
      "I got queasy on a pedalo on the boating lake, which is embarrassing."],
     ["Even the swaying of the river taxi made me feel sick.",
      "Travel sickness wristbands are now a permanent part of my bag."],
     ["I'd live on a boat if I could.",
      "Choppy water doesn't bother me in the slightest."]),
    ("coffee", "coffee", "Would {p} appreciate a barista course as a present?", "yes",
     ["I've started roasting my own beans in an old popcorn maker and the kitchen smells incredible.",
      "I can now tell you which hillside in Ethiopia my morning beans came from."],
     ["I spent my bonus on a lever espresso machine and I regret nothing.",
      "Practised milk-foam hearts all morning. The last one actually looked like a heart."],
     ["Coffee makes me jittery; I'm strictly a tea person.",
      "I've never understood the fuss about flat whites."]),
    ("garden", "garden", "Would {p} welcome a voucher for a plant nursery?", "yes",
     ["Got an allotment plot at last, after two years on the waiting list!",
      "Every windowsill in the flat is now covered in seed trays."],
     ["The runner beans have gone wild; I'm leaving bags of them on the neighbours' doorsteps.",
      "I was out weeding at dawn and completely lost track of time."],
     ["I've killed every houseplant I've ever owned, even a cactus.",
      "Gardening looks like backache with extra steps."]),
    ("animals", "animals", "Would {p} be keen to volunteer at an animal sanctuary?", "yes",
     ["We're fostering three kittens until they find homes. The place is chaos and I love it.",
      "I stopped the car in the rain to shepherd a hedgehog across the road."],
     ["I've been sponsoring a donkey at the rescue farm for years and visit him every month.",
      "Spent my day off helping bath muddy dogs at the rescue centre."],
     []),
    ("reading", "reading", "Would {p} be glad to receive a bookshop gift card?", "yes",
     ["That's my fortieth novel this year; I keep a list in the back of my diary.",
      "I read on the bus, in the bath, in queues... basically everywhere."],
     ["Spent lunch in the second-hand bookshop again and came out with six more.",
      "I had to buy a second bookcase because the books were piled on the floor."],
     ["I haven't finished a book since school, if I'm honest.",
      "Audiobooks send me straight to sleep."]),
    ("horror", "horror", "Would {p} want to go to an all-night horror film marathon?", "no",
     ["I watched a ghost film on my own and slept with the landing light on for a week.",
      "I had to leave the room during a trailer for a haunted house film."],
     ["I still won't walk past the old churchyard after dark.",
      "Even the spooky bit in a children's cartoon made me jump."],
     ["The gorier the film, the better.",
      "I watch slasher films to relax, weirdly."]),
    ("planner", "planner", "Would {p} be comfortable with a surprise holiday with nothing planned?", "no",
     ["I've already made a colour-coded spreadsheet for a trip that's five months away.",
      "I laminate my packing lists. I'm not ashamed."],
     ["When plans change at the last minute I genuinely get a headache.",
      "I booked every restaurant table for the whole week before we'd even left."],
     ["I never book anything; I just turn up and see what happens.",
      "The best holidays are the ones with no plan at all."]),
    ("gadgets", "gadgets", "Would {p} be pleased to get a smart speaker for {their} home?", "no",
     ["I'm still using my old flip phone and I'm proud of it.",
      "I write all my appointments in a paper diary; apps just confuse me."],
     ["Gadgets that talk back to me give me the creeps.",
      "My nephew set up voice control on my telly and I made him take it off again."],
     ["Every light in my place is on voice control now.",
      "I'll buy any gadget that beeps."]),
    ("baking", "baking", "Would {p} enjoy a day-long patisserie class?", "yes",
     ["I made croissants from scratch: three days of folding butter, totally worth it.",
      "The office now expects a homemade cake from me every Friday."],
     ["I've been practising macarons all month and the latest batch finally had proper feet.",
      "Entered my lemon drizzle at the village show and came second!"],
     ["I burn toast. Baking is not for me.",
      "I've never once switched the oven on in my flat."]),
    ("football", "football", "Would {p} be thrilled to be given tickets to a cup final?", "yes",
     ["Screamed myself hoarse at the match on Saturday; we scored in the last minute.",
      "I've painted the spare room in my team's colours."],
     ["I've been to every home game for eleven years.",
      "I moved a whole holiday so I wouldn't miss the derby."],
     ["I don't understand the offside rule and I never will.",
      "Watching sport on telly is my idea of torture."]),
    ("stars", "stars", "Would {p} enjoy an evening at an observatory?", "yes",
     ["I got up at three to watch the meteor shower from the back garden.",
      "I can name most of the winter constellations now."],
     ["Saved up for a proper telescope and spent all night looking at Saturn's rings.",
      "I drove out past the city lights just to see the Milky Way."],
     ["I get bored looking at the sky after about a minute."]),
    ("art", "art", "Would {p} like to spend a day at a big modern art gallery?", "yes",
     ["I spent four hours in front of two paintings at the gallery on Sunday.",
      "I've started going to every exhibition opening in town."],
     ["There's a huge abstract print above my bed that I stare at every night.",
      "I cried a little at a sculpture, which was a first for me."],
     ["Modern art looks like finger-painting to me, sorry."]),
    ("homebody", "quiet", "Would {p} rather spend Friday night at a nightclub or at home?", "at home",
     ["My perfect Friday is pyjamas, a jigsaw and bed by ten.",
      "I turned down three parties this month and felt nothing but relief."],
     ["I've got a favourite blanket and a favourite armchair and I need nothing else.",
      "Soup and a film on the sofa is my ideal weekend."],
     ["I haven't had a Friday night in for about five years."]),
    ("thrills", "heights", "Would {p} enjoy a day at a theme park with huge rollercoasters?", "yes",
     ["Went on the tallest rollercoaster in the country four times in a row.",
      "The drop tower was so good I queued for it again straight away."],
     ["I love that stomach-flip feeling when a plane hits turbulence.",
      "I've booked a zip line across the old quarry for my day off."],
     ["I get dizzy on a merry-go-round."]),
    ("foodie", "foodie", "Would {p} enjoy a street-food market with dishes from around the world?", "yes",
     ["I tried fermented shark at a food festival and quite liked it.",
      "I'll eat anything once: snails, frogs' legs, jellyfish, you name it."],
     ["I hunt out a new cuisine every month; this time it's Georgian.",
      "I made my own kimchi and it's fizzing away in the cupboard."],
     ["I order the same pasta every single time we go out."]),
    ("minimal", "quiet", "Would {p} enjoy a whole day at a huge shopping outlet?", "no",
     ["I've given away half my clothes and kept only what fits in one drawer.",
      "I haven't bought anything new apart from food for three months."],
     ["Big shops with music blaring make me want to lie down in a dark room.",
      "I'd rather resole my old boots than buy new ones."],
     ["Retail therapy is the best therapy."]),
    ("kids", "kids", "Would {p} enjoy helping out at a children's holiday club?", "yes",
     ["I coach the under-nines football on Saturday mornings.",
      "I volunteered reading stories to toddlers at the library."],
     ["My nephews beg for me to babysit every weekend.",
      "I got roped into face-painting at the school fair and loved every minute."],
     ["Small children terrify me, honestly."]),
]

# A second question for each trait, closer to the words the speaker used.
TRAIT_ALT = {
    "outdoors": ("Would {p} enjoy a camping holiday, with hikes by day and sleep under the stars?", "yes"),
    "spicy": ("Would {p} enjoy a restaurant where every dish is loaded with chilli?", "yes"),
    "heights": ("Would {p} be comfortable up a tall ladder fixing a roof?", "no"),
    "crowds": ("Would {p} enjoy a sold-out gig in a packed venue?", "no"),
    "morning": ("Would {p} be happy to meet for breakfast at seven?", "yes"),
    "coldwater": ("Would {p} enjoy a cold swim in the sea in winter?", "yes"),
    "history": ("Would {p} enjoy a day at a museum of medieval history?", "yes"),
    "seasick": ("Would {p} enjoy a long ferry trip across rough seas?", "no"),
    "coffee": ("Would {p} like a bag of speciality beans as a gift?", "yes"),
    "garden": ("Would {p} enjoy a day helping out on an allotment?", "yes"),
    "animals": ("Would {p} enjoy volunteering with rescue animals?", "yes"),
    "reading": ("Would {p} be pleased with a new bookcase as a present?", "yes"),
    "horror": ("Would {p} enjoy a ghost tour at midnight?", "no"),
    "planner": ("Would {p} enjoy a trip where nothing is booked in advance?", "no"),
    "gadgets": ("Would {p} want a new smartphone packed with apps?", "no"),
    "baking": ("Would {p} enjoy entering a baking show?", "yes"),
    "football": ("Would {p} like a framed shirt from {their} team?", "yes"),
    "stars": ("Would {p} be excited to be given a powerful telescope?", "yes"),
    "art": ("Would {p} enjoy a ticket to an exhibition opening?", "yes"),
    "homebody": ("Would {p} prefer a quiet night with a film on the sofa to a big party?", "yes"),
    "thrills": ("Would {p} enjoy a zip line or a rollercoaster?", "yes"),
    "foodie": ("Would {p} be up for trying an unfamiliar cuisine?", "yes"),
    "minimal": ("Would {p} enjoy buying a whole new wardrobe of clothes?", "no"),
    "kids": ("Would {p} enjoy running games for children at a school fair?", "yes"),
}

# (what happened, question verb phrase, body part, interim update, recovery)
INJURIES = [
    ("sprained my ankle stepping off a kerb", "hurt {their} ankle", "ankle",
     "Still hobbling about; the ankle is taking forever.",
     "The physio has finally signed my ankle off, so I'm allowed to run again."),
    ("broke my wrist falling off a stepladder", "break a bone in {their} arm", "wrist",
     "Typing one-handed in this cast is slow going.",
     "The cast came off my wrist today and my arm looks like a pale little twig, but it works."),
    ("pulled a hamstring sprinting for a train", "strain a muscle in {their} leg", "hamstring",
     "The hamstring still twinges every time I go down the stairs.",
     "My hamstring's fully healed; I did a whole spin class without a single twinge."),
    ("dislocated my shoulder tripping over the garden hose", "put {their} shoulder out", "shoulder",
     "Still can't lift my arm above my head, which makes hair-washing interesting.",
     "My shoulder's back to normal. I can reach the top shelf again without wincing."),
    ("chipped a front tooth on an olive stone", "damage one of {their} teeth", "tooth",
     "Still waiting for the dentist to fix my tooth; I'm smiling with my mouth shut.",
     "The dentist bonded my tooth and you honestly can't tell any more."),
    ("needed four stitches in my eyebrow after walking into a cupboard door", "cut {their} face open", "eyebrow",
     "I look like I've been in a bar fight, with this eyebrow.",
     "The stitches are out and the scar over my eye is barely visible now."),
    ("put my back out carrying a sofa up three flights of stairs", "injure {their} back", "back",
     "My back is still seizing up if I sit for too long.",
     "My back is sorted; the osteopath says I don't need any more sessions."),
    ("burnt my hand on a baking tray", "scald {their} hand", "hand",
     "The burn on my hand is still bandaged and it stings in the shower.",
     "My hand's healed; there's just a faint pink patch left."),
    ("twisted my knee dancing at a ceilidh", "injure {their} knee", "knee",
     "Knee's still strapped up; I sound like a creaky door on the stairs.",
     "Knee's fine now, and the brace has gone back in the cupboard."),
    ("broke a toe walking into the bed frame in the dark", "fracture a toe", "toe",
     "I'm still in flip-flops because of this toe, in this weather.",
     "My toe has healed and I can wear proper shoes again."),
]

# (id, plan, report with {ref}, temporal question, noun phrase, physical)
EVENTS = [
    ("wedding", "My cousin {x}'s wedding is {when}; I'm doing a reading and I'm already nervous.",
     "{x}'s wedding was {ref} and I got through the reading without crying. Just about.",
     "When did {pp} cousin get married?", "{their} cousin's wedding", False),
    ("half", "I've signed up for a half marathon {when}. What have I done?",
     "I ran the half marathon {ref}! Two hours and four minutes, and my legs have filed a complaint.",
     "When did {p} run a 21-kilometre race?", "the half marathon", True),
    ("dad60", "Dad turns sixty {when} and we're planning a surprise party at the cricket club.",
     "Dad's surprise party was {ref}. He had no idea and cried at the cake.",
     "When did {pp} father get his surprise celebration?", "{their} dad's surprise party", False),
    ("grad", "My graduation for the night-school accountancy diploma is {when}.",
     "I walked across the stage in a gown and a silly hat {ref}. Diploma in hand!",
     "When did {p} collect {their} qualification at a ceremony?", "{their} graduation", False),
    ("ride", "I'm doing a sixty-mile charity bike ride to the coast {when}.",
     "Did the charity ride {ref} and raised over four hundred pounds!",
     "When did {p} complete the sponsored cycle?", "the charity ride", True),
    ("poems", "I've been asked to read my poems at an open mic night {when}.",
     "Read three of my poems at the open mic {ref}. Hands shaking, but people clapped!",
     "When did {p} perform {their} own writing on stage?", "the open mic night", False),
    ("party", "I'm organising my oldest friend's fortieth {when}. Send help.",
     "The fortieth was {ref} and nobody got lost, arrested or injured. Success.",
     "When did the birthday do that {p} organised for an old friend happen?", "{their} friend's fortieth", False),
    ("talk", "I'm giving a talk at a conference {when}; my first time speaking to hundreds of people.",
     "Gave my conference talk {ref} and only said 'um' about forty times.",
     "When did {p} give a presentation to a large audience?", "the conference talk", False),
    ("nan90", "Nan turns ninety {when}; the whole family is coming.",
     "Nan's ninetieth was {ref}. She outlasted all of us on the dance floor.",
     "When did {pp} grandmother celebrate her big birthday?", "{their} nan's ninetieth", False),
    ("play", "I've got a part in the amateur dramatics production {when}. Lines, lines, lines.",
     "Opening night of the play was {ref} and I only forgot one line!",
     "When did {p} first perform in the amateur theatre show?", "{their} opening night", False),
    ("swim", "I've signed up for a charity mile swim in the lake {when}.",
     "Swam the charity mile in the lake {ref}. Cold, slow, but done!",
     "When did {p} complete the sponsored open-water swim?", "the charity swim", True),
    ("quiz", "Our pub quiz team has made the league final {when}!",
     "We won the quiz league final {ref}! Beaten on the picture round, saved by the music round.",
     "When did {pp} team triumph at trivia?", "the quiz final", False),
    ("bake", "I've entered the town bake-off {when}, heaven help me.",
     "The bake-off was {ref} and my plum tart came third!",
     "When did {p} compete in a baking contest?", "the bake-off", False),
    ("exhibit", "Some of my sketches are going in a group exhibition at the library {when}.",
     "The exhibition opened {ref}; seeing my sketches on a real wall was surreal.",
     "When did {pp} drawings go on public display?", "the exhibition opening", False),
    ("vows", "My parents are renewing their vows {when} for their fortieth anniversary.",
     "Mum and Dad renewed their vows {ref}; Dad cried before Mum had even walked in.",
     "When did {pp} parents reaffirm their marriage?", "{their} parents' vow renewal", False),
    ("walk", "A group of us are doing a sponsored twenty-mile coast walk {when}.",
     "Did the sponsored twenty-mile coast walk {ref}. Blisters on my blisters.",
     "When did {p} finish the long charity hike?", "the charity walk", True),
]

PARTNER_JOBS = [
    "is a night-shift nurse", "drives trams for the city", "is a sommelier at a wine bar",
    "works in the council planning office", "makes jewellery and sells it at markets",
    "teaches yoga", "repairs lifts in tower blocks", "is a marine biologist",
    "does stand-up comedy at the weekends and sells insurance in the week",
    "sets crosswords for a newspaper", "is a locksmith", "cuts hair at a barber's on the high street",
]

GIFTS = [
    "a vintage typewriter", "tickets to the ballet", "a pasta machine",
    "a weekend in a treehouse", "a record player", "a cheese-making kit",
    "a pair of handmade leather boots", "a framed map of the town where I grew up",
    "a day driving a steam train", "a subscription to a chocolate club",
    "a beginner's set of oil paints", "a tandem bicycle", "a fancy fountain pen",
    "a hot-sauce making kit", "a massive jigsaw of the night sky", "a cocktail-making class",
]

BANDS = [
    "the Velvet Marrows", "Saltwater Choir", "Dusk Parade", "the Tin Lanterns", "Hollow Pines",
    "Gemma Vale", "Odile and the Kites", "the Brightside Motel", "Paper Tiger Club",
    "Ysolde Finch", "Harbour Static", "the Lemon Thieves", "Copper Wolves",
    "Midnight Allotment", "the Gentle Riots", "Blue Ferns", "Kitchen Disco Club",
    "Sister Gale", "the Marmalade Saints", "Low Tide Lovers",
]

VENUES = ["the Corn Exchange", "a tiny pub back room", "the old Regal cinema", "the cathedral",
          "the arena", "a basement club", "the botanical gardens", "the student union",
          "the bandstand in the park", "a converted chapel"]

GIG_DETAILS = [
    "The drummer broke a stick in the very first song.",
    "They played the whole first album from start to finish.",
    "I lost my voice singing along.",
    "The support act was even better than the main band.",
    "We got there early and ended up right at the front.",
    "The singer came out into the crowd for the last song.",
]

BOOKS = [
    "The Lantern Keeper's Daughter", "Nine Winters in Orvik", "A Field Guide to Leaving",
    "The Glass Ferryman", "Salt and Cinders", "The Last Cartographer", "Moth Season",
    "The House on Wren Lane", "Small Gods of the Kitchen", "A Thousand Paper Boats",
    "The Orchard at Dusk", "Under the Marram Grass", "The Quiet Tide", "Letters to Isolde",
]

STREETS = ["Mill Street", "Harbour Road", "Canal Wharf", "Elmfield Terrace", "Kingsgate",
           "Brackley Hill", "Tanner's Row", "Rope Walk", "Orchard Close", "Station Parade",
           "Quarry Lane", "Bishop's Yard", "Lantern Street", "Salt Lane", "Weaver's Court",
           "Foundry Street"]

VILLAGES = ["Ashcombe", "Little Haddon", "Westmere", "Foxley", "Hartsbridge", "Coldharbour",
            "Sandwell Green", "Upper Brockley", "Fennimore", "Oakhurst", "Millbeck", "Thornby",
            "Kelham", "Rushden Cross", "Stowfield", "Barrowmere"]

# (old way, new way, answer)
COMMUTES = [
    ("Cycling along the canal path is the best part of my working day.",
     "Since my bike got nicked I've been taking the train to work, and honestly I quite like reading on it.",
     "by train"),
    ("The number 14 bus gets me to work in twenty minutes if the traffic behaves.",
     "I've ditched the bus and bought an electric scooter; I zip into work along the river now.",
     "on an electric scooter"),
    ("I drive in every day, which is forty minutes of radio and traffic jams.",
     "I've sold the car and started cycling to work these days. My thighs hate me.",
     "by bike"),
    ("I walk to the office; it's only fifteen minutes through the park.",
     "Now the office has moved out to the business park, I'm car-sharing to work with a colleague.",
     "car-sharing with a colleague"),
    ("I take the little ferry across the estuary to get to work, which sounds romantic until it rains.",
     "The new bridge has opened, so now I just drive over it in ten minutes.",
     "driving over the new bridge"),
    ("I jog to work three mornings a week with a backpack on.",
     "I'm working from home four days a week now, so my commute is the stairs.",
     "mostly working from home"),
    ("I get the tram in; it's packed but quick.",
     "I've started walking to work across the river. Forty minutes, but it clears my head.",
     "on foot"),
    ("My motorbike gets me to work in fifteen minutes flat.",
     "Sold the motorbike after a near miss, so I'm on the bus to work these days.",
     "by bus"),
    ("I cycle in on a rusty old folding bike.",
     "I've bought an electric bike, so the hill up to the office is nothing now.",
     "on an electric bike"),
    ("It's two trains and a bus to the office, every single day.",
     "Work moved me to the branch round the corner, so I walk five minutes now.",
     "a five-minute walk"),
]

CAKES = ["dinosaur", "volcano", "unicorn", "space rocket", "pirate ship", "football pitch",
         "castle", "shark", "fire engine", "rainbow"]

KID_NEWS = ["lost {kt} first tooth and demanded a pound for it",
            "got the part of a tree in the school play and is taking it very seriously",
            "learned to ride a bike without stabilisers",
            "won the egg-and-spoon race at sports day",
            "has decided {ky} is going to be a volcanologist"]

AGE_WORDS = {3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight",
             9: "nine", 10: "ten", 11: "eleven"}

# ---------------------------------------------------------------------------
# Small talk. Nothing here states a lasting fact about a speaker.
# ---------------------------------------------------------------------------

GREETINGS = {
    "morning": ["Morning! Got a minute?", "Good morning! Coffee in hand, ready to chat.",
                "Morning! I'm on the bus, entertain me.", "Hey, happy {wd}! Early start for me."],
    "afternoon": ["Hey! How's your {wd} going?", "Afternoon! I'm on my lunch break, finally.",
                  "Hiya! Sorry I went quiet, it's been a week.", "{o}! Are you about?"],
    "evening": ["Evening! Finally sat down with a cuppa.", "Hey you. Long time no chat!",
                "Hi! Is it too late to message?", "Right, dinner's done. How are you?"],
    "any": ["Hello hello! What's new?", "Hey, you around?", "Happy {wd}! What are you up to?",
            "Hi! I've got so much to tell you.", "Knock knock. Got time for a natter?",
            "Quick catch-up?", "Hey, it's been ages. How are things?", "Oi, you. News, please.",
            "Hi hi. Are you free to chat for a bit?", "Hello, stranger!"],
}
GREET_REPLIES = ["Hey! I'm here, go on.", "Hi! All good, you?", "Oh hello! Perfect timing.",
                 "Hey hey. Yes, I'm all ears.", "Hiya! Just sat down myself.",
                 "Hello! I was literally about to message you.", "Here! What's up?"]
CLOSINGS = ["Right, I'd better go, {why}. Talk soon!", "I have to run, {why}. Speak later!",
            "Okay, that's me, {why}. Chat soon x", "Better dash, {why}. Catch up properly soon?",
            "Sorry, got to go, {why}. More soon!", "Ah, I need to love you and leave you, {why}.",
            "Going to have to stop there, {why}. Bye for now!", "That's my cue to go, {why}. Speak soon."]
CLOSE_WHY = ["dinner won't cook itself", "I've got an early start", "my bus is here",
             "the washing machine just beeped", "I promised I'd ring my mum",
             "my battery's about to die", "I've got a meeting in five minutes",
             "the parking is about to run out", "I need to get some sleep",
             "the pasta is boiling over", "someone's at the door", "I've got to walk to the shop before it shuts"]
CLOSE_REPLIES = ["Speak soon!", "Night!", "Go go go. Chat later.", "Bye! Good luck with everything.",
                 "Talk soon x", "Laters!", "Okay, take care!"]
ACKS = ["Ha, exactly.", "Right?!", "I know.", "Honestly.", "Tell me about it.", "Ha!",
        "Pretty much.", "Fair.", "Yep.", "Same, honestly."]

FILLERS = [
    ([("We've had nothing but {x} since breakfast.", ["drizzle", "fog", "sleet", "wind", "hail", "grey murk"]),
      ("The {x} today is something else.", ["drizzle", "fog", "wind", "sticky heat", "sideways rain"]),
      ("Walked to the shops in the {x} and instantly regretted it.", ["sleet", "sideways rain", "wind", "sticky heat"]),
      ("Forecast says more {x} all weekend. Brilliant.", ["rain", "fog", "wind", "drizzle"])],
     ["Same here, it's grim.", "Tea and blanket weather, then.", "It's actually quite nice here, sorry!",
      "Brr. Stay in tonight.", "I've given up on the weather entirely."]),
    ([("Started {x} last night. Have you seen it?", ["Harbour Lights", "The Ninth Floor", "Copper & Ash", "Midnight Lettings", "The Cartographers"]),
      ("I'm two episodes from the end of {x} and I don't want it to finish.", ["Fen Country", "Static Hearts", "Bakehouse Rivals", "The Understudy"]),
      ("Everyone keeps going on about {x}. Is it worth it?", ["Lowland Police", "Glass Tower", "The Ninth Floor", "Static Hearts"]),
      ("Fell asleep halfway through {x} again.", ["Copper & Ash", "Fen Country", "The Understudy", "Glass Tower"])],
     ["Oh, I've heard good things.", "Loved it. No spoilers from me!", "I gave up after episode three, honestly.",
      "Adding it to my list.", "It gets better in the second half, stick with it."]),
    ([("Made {x} for tea and there's enough left for days.", ["lentil soup", "a big veggie chilli", "a tomato pasta bake", "a mushroom stroganoff"]),
      ("Tried a new recipe for {x} tonight. Not bad at all.", ["bean burritos", "a chickpea stew", "egg fried rice", "leek and potato soup"]),
      ("Too tired to cook, so it's {x} from the freezer.", ["soup", "a veggie lasagne", "dumplings", "fish fingers"]),
      ("Made {x} and burnt the bottom of the pan. Still delicious.", ["risotto", "porridge", "rice pudding", "a stir fry"])],
     ["Save me a bowl!", "Now I'm starving.", "That sounds so good.", "Recipe, please.", "Proper comfort food."]),
    ([("Four meetings back to back and I still don't know what any of them were for.", None),
      ("The printer has jammed every single day this week.", None),
      ("Someone microwaved fish in the shared kitchen again.", None),
      ("My inbox is a disaster zone.", None),
      ("Spent the whole afternoon fixing a spreadsheet someone else broke.", None),
      ("Fire drill in the pouring rain today. Classic.", None),
      ("The coffee machine at work is broken and morale is at rock bottom.", None),
      ("Someone scheduled a meeting about having fewer meetings.", None)],
     ["Ugh, solidarity.", "That's the worst.", "Who does that?!", "Hang in there.", "Sounds exhausting."]),
    ([("Slept terribly: {x}.", ["the neighbours had a party till three", "a car alarm kept going off", "it was far too hot", "the wind was rattling the windows"]),
      ("Barely slept because {x}.", ["a fox was screaming outside", "I had that dream about missing an exam again", "my brain wouldn't switch off", "the people upstairs were moving furniture at midnight"])],
     ["Oh no, get an early night tonight.", "Coffee, immediately.", "Earplugs. Life-changing.", "Ugh, the worst feeling."]),
    ([("Spent half the day {x}.", ["returning parcels", "renewing my passport", "queuing at the post office", "sorting out my phone contract"]),
      ("Finally got round to {x}; it's been on my list for weeks.", ["getting a spare key cut", "taking the recycling to the tip", "dropping old clothes at the charity shop", "fixing the wobbly shelf"]),
      ("Tomorrow's job is {x}, no excuses.", ["cleaning the oven", "defrosting the freezer", "doing my tax return", "sorting the cupboard under the stairs"])],
     ["Very productive!", "The glamour of adult life.", "Hopefully it's quick.", "Rather you than me."]),
    ([("They've opened a new {x} on the high street.", ["bakery", "noodle bar", "bookshop", "board game cafe", "vintage clothes shop"]),
      ("The {x} near me has closed down, which is sad.", ["ice-cream parlour", "barber's", "hardware shop", "little deli"])],
     ["Ooh, we should check it out.", "About time something new opened.", "Oh no, that's a shame.", "Everything's changing so fast."]),
    ([("They've dug up the road outside my place again.", None),
      ("The traffic this morning was absolutely solid.", None),
      ("The trains were all cancelled this morning. Again.", None),
      ("Some genius parked across my driveway for three hours.", None)],
     ["Infuriating.", "Of course they did.", "Classic.", "I'd have lost it."]),
    ([("My phone decided to update itself in the middle of a call.", None),
      ("The wifi has dropped out about ten times today.", None),
      ("My laptop fan sounds like a jet engine.", None),
      ("I accidentally sent a voice note of me humming to a group chat.", None)],
     ["Technology hates us.", "Have you tried turning it off and on again?", "Mine does that too.", "Ha, no!"]),
    ([("Listening to a podcast about {x}. Weirdly gripping.", ["the history of salt", "deep-sea creatures", "unsolved art heists", "medieval medicine", "lighthouse keepers"]),
      ("Fell down a rabbit hole reading about {x} last night.", ["how maps get made", "famous shipwrecks", "the people who name storms", "the invention of the zip"])],
     ["Send me the link!", "You always find the strangest stuff.", "I need more of that in my life.", "Go on then, tell me one fact."]),
    ([("Did you see the {x} last night?", ["snooker final", "tennis", "rugby", "darts", "athletics"]),
      ("I stayed up far too late watching the {x}.", ["cycling", "snooker", "tennis", "ice hockey"])],
     ["Missed it! Any good?", "Unbelievable ending.", "I fell asleep before the end, sorry.", "I only saw the highlights."]),
    ([("Saw a video of {x} and I can't stop laughing.", ["a goat standing on a sleeping horse", "a duck chasing a postman", "a toddler conducting an orchestra", "a seal stealing a surfboard"]),
      ("Have you seen the clip of {x}? I've watched it ten times.", ["a parrot ordering pizza", "a cow that thinks it's a dog", "a squirrel raiding a bird feeder", "a baby goat in pyjamas"])],
     ["Send it now.", "Ha! The internet was made for this.", "I've seen that one, it's brilliant.", "That's made my day."]),
    ([("The price of {x} at the supermarket is criminal now.", ["butter", "olive oil", "cereal", "washing powder", "cheese"]),
      ("I nearly fainted at the till paying for {x}.", ["a bag of apples", "a jar of honey", "two avocados", "a box of teabags"])],
     ["Don't get me started.", "Everything costs double now.", "I've switched to the own-brand stuff.", "Daylight robbery."]),
    ([("No big plans this weekend, just a lot of sofa.", None),
      ("Can't wait for the weekend; this week has dragged.", None),
      ("Thinking of having a completely lazy Sunday.", None),
      ("This week has lasted about a month.", None)],
     ["Sounds perfect.", "You've earned it.", "Same, I'm counting the hours.", "Sofa days are the best days."]),
    ([("Found a photo of us at {x}. What were we wearing?", ["the school disco", "that fancy-dress party in sixth form", "the leavers' trip", "your eighteenth"]),
      ("Remember {x}? I still cringe.", ["that terrible karaoke night", "the time we got locked out of the youth hostel", "our attempt at a pub quiz team", "the camping trip in the hailstorm"])],
     ["Burn it immediately.", "We looked amazing, don't lie.", "I'd forgotten about that!", "Oh no. Oh no no no."]),
    ([("Had {x} on repeat all day.", ["an old Motown record", "a film soundtrack", "a playlist of sea shanties", "nineties dance anthems"]),
      ("Someone nearby has been playing {x} very loudly since lunchtime.", ["jazz piano", "a brass band album", "the same pop song", "opera"])],
     ["That's a vibe.", "Ha, fair enough.", "Honestly, could be worse.", "Send me the playlist."]),
    ([("Bought {x} I absolutely didn't need.", ["a new mug", "a fancy notebook", "socks with ducks on them", "a scented candle"]),
      ("Treated myself to {x} today.", ["a tiny cactus", "a posh sandwich", "a new umbrella", "fancy hand cream"])],
     ["Treat yourself!", "Totally necessary purchase.", "We all need a little treat.", "Show me!"]),
    ([("I think I'm coming down with a cold.", None),
      ("Got my flu jab today; my arm's a bit sore.", None),
      ("Trying to drink more water. It's going badly.", None),
      ("I've had hiccups on and off all day.", None)],
     ["Lemon and honey, and early to bed.", "Look after yourself.", "Good luck with that.", "Ugh, there's so much going around."]),
    ([("How's your week been so far?", None), ("What have you been up to today?", None),
      ("Anything exciting happening your end?", None), ("Tell me something good, I need it.", None)],
     ["Pretty quiet, honestly. Work, sleep, repeat.", "Not much! Just trying to get through the list.",
      "Same old, same old.", "Honestly? Nothing worth reporting.", "Mostly just laundry, if I'm honest."]),
    ([("Someone on my street has painted their front door {x}. Bold.", ["bright orange", "lime green", "purple", "sunflower yellow"]),
      ("There's a new {x} sign at the end of my road and nobody knows why.", ["no ball games", "slow down", "mind the ducks", "private road"])],
     ["Love that.", "The drama of suburbia.", "Ha! Someone's having fun.", "Mystery of the week."]),
]

COLLEAGUE_LINES = [
    ("{x} from work brought in a homemade lasagne for everyone today.", "Can I come and work with you?"),
    ("{x} at work has started a lunchtime book club and roped me in.", "Ha! What's the first book?"),
    ("{x} from the office is leaving to become a ski instructor, apparently.", "Good for them, honestly."),
    ("{x} at work keeps stealing my stapler and denying it.", "Honestly, people."),
    ("My colleague {x} fell asleep in a meeting and snored.", "Ha! Every office needs one."),
]

GENERIC_REPLIES = ["Ha, that's so you.", "Of course you did.", "I love that for you.",
                   "Why does that not surprise me?", "Honestly, same energy as always."]


# ---------------------------------------------------------------------------
# Story machinery.
# ---------------------------------------------------------------------------

class Pools:
    """Topic pools shared by all conversations; values are drawn without replacement."""

    def __init__(self, rng):
        self.lists = {}
        for name, values in (("speakers", SPEAKERS), ("others", OTHER_NAMES), ("pairs", NAME_PAIRS),
                             ("pets", PETS), ("pet_names", PET_NAMES), ("sib_jobs", SIB_JOBS),
                             ("sib_events", SIB_EVENTS), ("home_cities", HOME_CITIES), ("jobs", JOBS),
                             ("work_cities", WORK_CITIES), ("hobbies", HOBBIES), ("places", PLACES),
                             ("injuries", INJURIES), ("events", EVENTS), ("partner_jobs", PARTNER_JOBS),
                             ("gifts", GIFTS), ("bands", BANDS), ("books", BOOKS), ("streets", STREETS),
                             ("villages", VILLAGES), ("commutes", COMMUTES), ("traits", TRAITS)):
            values = list(values)
            rng.shuffle(values)
            self.lists[name] = values

    def take(self, name, pred=None):
        values = self.lists[name]
        for i, value in enumerate(values):
            if pred is None or pred(value):
                return values.pop(i)
        raise SystemExit(f"pool {name!r} is exhausted")

    def person(self, name="others", gender=None):
        name_, g = self.take(name, (lambda v: v[1] == gender) if gender else None)
        return Person(name_, g)


class Conv:
    """One conversation being written: sessions, story beats and question candidates."""

    def __init__(self, cid, rng, pools, a, b):
        self.cid, self.rng, self.pools = cid, rng, pools
        self.a, self.b = a, b
        self.S = rng.randint(15, 25)
        day = date(2025, 1, 6) + timedelta(days=rng.randint(0, 420))
        self.days = []
        for i in range(self.S):
            if i:
                day += timedelta(days=rng.randint(4, 12))
            self.days.append(day)
        self.beats = [[] for _ in range(self.S)]
        self.cands = []
        self.key_session = {}
        self.dated = defaultdict(list)

    def take(self, name, pred=None):
        return self.pools.take(name, pred)

    def slot(self, lo, hi, after=None, before=None):
        """A random session index in the fraction range [lo, hi] of the conversation."""
        first, last = int(lo * (self.S - 1)), int(round(hi * (self.S - 1)))
        if after is not None:
            first = max(first, after + 1)
        if before is not None:
            last = min(last, before - 1)
        if first > last:
            return None
        # Of two random candidates, the session with fewer story beats so far.
        a, b = self.rng.randint(first, last), self.rng.randint(first, last)
        return a if len(self.beats[a]) <= len(self.beats[b]) else b

    def beat(self, s, *turns):
        """Add one exchange to session ``s``; turns are (speaker, text, key or None)."""
        for _, _, key in turns:
            if key:
                if key in self.key_session:
                    raise SystemExit(f"{self.cid}: duplicate story key {key}")
                self.key_session[key] = s
        self.beats[s].append(list(turns))

    def ask(self, category, subject, text, keys, answer, about=None):
        """A question candidate about ``subject`` (or about ``about``, one of their people)."""
        self.cands.append({"category": category, "subject": subject.name, "question": text,
                           "keys": list(keys), "answer": answer,
                           "names": [subject.name] + ([about.name] if about else [])})

    def date_event(self, person, when, key, phrase):
        self.dated[person.name].append((when, key, phrase))


def pet_pronouns(rng):
    return ("she", "her", "her") if rng.random() < 0.5 else ("he", "him", "his")


def is_mammal(pet):
    return pet[2] in ("dog", "cat", "small")


OTHER_PET_TRAITS = ["bobs along whenever the radio is on", "sulks if I leave the room",
                    "hates the colour red for some reason", "wakes me up at six on the dot"]


def th_pet(c, p, o, traits, sib=None):
    rng = c.rng
    desc, kind, group = c.take("pets", is_mammal if sib else None)
    name = c.take("pet_names")
    ps, po, pq = pet_pronouns(rng)
    k = f"pet:{p.name}"
    s1 = c.slot(0.0, 0.3)
    ref, when = past_ref(rng, c.days[s1])
    adopt = rng.choice([
        f"Big news from my end: we adopted {desc} from the shelter {ref}. {cap(ps)}'s called {name}.",
        f"Meet {name}! {cap(ps)}'s {desc} and {ps} came home with me {ref}.",
        f"I did a thing. I picked up {desc} from a rescue {ref}, my first ever {kind}, and named {po} {name}.",
        f"We've finally got a {kind}! {name}, {desc}, moved in {ref}.",
        f"There's a new resident in my place: {name}, {desc}. I collected {po} {ref} and I'm already besotted.",
    ])
    echo = rng.choice([
        f"{p.name}, {name} is the perfect name! I need photos immediately.",
        f"Wait, you actually got {desc}? I thought you were joking about that!",
        f"A {kind}! How is {name} settling in?",
        f"Oh my goodness, {name}! Is {ps} as cute as I'm imagining?",
    ])
    if is_mammal((desc, kind, group)):
        trait_p, trait_s, trait_answer = traits.pop()
        trait_p = trait_p.format(po=po)
    else:
        trait_p, trait_s, trait_answer = rng.choice(OTHER_PET_TRAITS), None, None
    trait_line = rng.choice([
        f"{name} is settling in, but {ps} {trait_p}.",
        f"Early days, but we've learned one thing: {name} {trait_p}.",
        f"Funny thing about {name}: {ps} {trait_p}.",
    ])
    c.beat(s1, (p, adopt, k + ":adopt"), (o, echo, None), (p, trait_line, k + ":trait"))
    breed = desc.split(" ", 1)[1]
    c.ask("adversarial-speaker", p, rng.choice([
        f"What is {p.poss} {kind} called?", f"What name did {p.name} give {p.their} new {kind}?",
        f"What did {p.name} name the {breed}?", f"What is the name of {p.poss} {breed}?"]), [k + ":adopt"], name)
    c.ask("temporal", p, rng.choice([
        f"When did {p.name} bring {p.their} {kind} home?", f"When did {p.poss} {kind} come to live with {p.them}?",
        f"On what day did {p.name} become the owner of a {kind}?"]), [k + ":adopt"], show_day(when))
    c.date_event(p, when, k + ":adopt", f"getting {p.their} {kind}")
    c.ask("multi-hop", p, rng.choice([f"What quirk does {p.poss} {kind} have?", f"What is unusual about {p.poss} {kind}?"]),
          [k + ":adopt", k + ":trait"], trait_p)

    s2 = c.slot(0.35, 0.95, after=s1)
    event, question = rng.choice(PET_EVENTS[group])
    event = event.format(ps=ps, po=po, pq=pq)
    c.beat(s2, (p, rng.choice([
        f"You won't believe what {name} did: {ps} {event}.", f"{name} update: {ps} {event}. Never a dull moment.",
        f"Long day. {name} {event}.", f"So {name} {event}. Animals, honestly."]), k + ":event"),
        (o, rng.choice(["Oh no! Give them a cuddle from me.", f"Classic {name}. Never boring.",
                        "Ha! I'm sorry, but that's brilliant.", "Honestly, pets are like toddlers."]), None))
    c.ask("multi-hop", p, question.format(**p.v(kind=kind)), [k + ":adopt", k + ":event"], event)

    s3 = c.slot(0.2, 1.0, after=s1)
    if s3 is not None and s3 != s2:
        c.beat(s3, (o, rng.choice([f"How's {name} getting on these days?", f"Is {name} still ruling the house?",
                                   f"Is {name} behaving?"]), None),
               (p, rng.choice(["Thriving, as usual. Spoilt rotten.", "Still the boss of everyone.",
                               "Asleep on my feet as I type this."]), None))
    if sib and trait_s:
        sdesc, skind, _ = c.take("pets", is_mammal)
        sname = c.take("pet_names")
        sps, spo, _ = pet_pronouns(rng)
        trait_s = trait_s.format(po=spo)
        sw = kin_word(sib, "sister", "brother")
        s4 = c.slot(0.3, 1.0, after=s1)
        c.beat(s4, (p, rng.choice([
            f"Went round to {sib.poss} and met {sib.their} {skind}, {sname}. {cap(sps)} {trait_s}.",
            f"My {sw} {sib.name} has {sdesc} called {sname}, and {sps} {trait_s}.",
            f"{sib.name} sent me a video of {sname}, {sib.their} {skind}; {sps} {trait_s}. It's a whole thing."]),
            k + ":sibpet"), (o, rng.choice(["Ha! That's adorable.", "What a character.", "I need to meet this animal."]), None))
        c.ask("multi-hop", p, rng.choice([
            f"What do {p.poss} pet and {sib.poss} {skind} have in common?",
            f"What do {p.poss} animal and the {skind} belonging to {p.their} {sw} share?"]),
            [k + ":trait", k + ":sibpet"], trait_answer)


def th_sibling(c, p, o, sib, event=False, move=False):
    rng = c.rng
    sw = kin_word(sib, "sister", "brother")
    job = c.take("sib_jobs")
    city = c.take("home_cities")
    k = f"sib:{p.name}"
    s1 = c.slot(0.0, 0.45)
    c.beat(s1, (p, rng.choice([
        f"My {sw} {sib.name} {job}. {cap(sib.they)} lives in {city} now and seems really happy.",
        f"Family news: {sib.name}, my little {sw}, {job}. Based in {city}, of all places.",
        f"Had a long call with my {sw} {sib.name} last night. {cap(sib.they)} {job} and loves it, even if {city} is a long way from here.",
        f"Proud sibling moment: {sib.name} {job}! {cap(sib.they)}'s settled in {city} too."]), k + ":job"),
        (o, rng.choice([f"Good for {sib.name}! Tell {sib.them} congratulations from me.",
                        f"{sib.name} always did know what {sib.they} wanted. That's brilliant.",
                        f"No way! Is {sib.name} the one who used to dye your hair in the bathroom?",
                        f"That's so {sib.name}. Is {city} treating {sib.them} well?"]), None))
    c.ask("adversarial-speaker", p, rng.choice([
        f"What does {p.poss} {sw} do for a living?", f"What line of work is {p.poss} {sw} in?",
        f"How does {sib.name}, {p.poss} {sw}, earn a living?"]), [k + ":job"], job, about=sib)
    last = s1
    if event:
        text, described = c.take("sib_events")
        s2 = c.slot(0.3, 1.0, after=s1)
        month = MONTHS[(c.days[s2].month + rng.randint(3, 6) - 1) % 12]
        news = text.format(stheir=sib.their, month=month)
        c.beat(s2, (p, rng.choice([f"Guess what? {sib.name} {news}!", f"Big news from my {sw}: {sib.name} {news}.",
                                   f"Can you believe it, {sib.name} {news}."]), k + ":event"),
               (o, rng.choice([f"That's huge! Send {sib.them} my love.", "Wow. Your family is never boring.",
                               f"Of course {sib.name} did. Amazing."]), None))
        c.ask("multi-hop", p, rng.choice([
            f"What does the person in {p.poss} family who {described} do for work?",
            f"{p.poss} {sw} {described}; what is {sib.their} job?"]), [k + ":job", k + ":event"], job)
    if move:
        city2 = c.take("home_cities")
        s3 = c.slot(0.5, 1.0, after=s1)
        mid = c.slot(0.0, 1.0, after=s1, before=s3)
        if mid is not None:
            c.beat(mid, (o, rng.choice([f"How's {sib.name} getting on in {city}?", f"Is {sib.name} still loving {city}?"]), None),
                   (p, rng.choice(["Good, I think! Busy as ever.", "Seems to be. We never talk for long."]), None))
        c.beat(s3, (p, rng.choice([
            f"My {sw} {sib.name} has packed up and moved to {city2}. {cap(sib.their)} partner got a job there.",
            f"So {sib.name} doesn't live in {city} any more; {sib.they}'s just moved to {city2}.",
            f"Helped my {sw} {sib.name} carry boxes into {sib.their} new flat in {city2} at the weekend. My arms!"]), k + ":move"),
            (o, rng.choice([f"{city2}! That's a big change.", "Moving is the worst. Hope your back survived.",
                            f"Tell {sib.name} I said good luck with the move."]), None))
        c.ask("knowledge-update", p, rng.choice([
            f"Which city does {sib.name} live in now?", f"Which city has {p.poss} {sw} moved to?",
            f"Where has {p.poss} {sw} ended up living?"]), [k + ":move"], city2, about=sib)


def th_job(c, p, o, changer):
    rng = c.rng
    role, co, infer = c.take("jobs")
    k = f"job:{p.name}"
    s1 = c.slot(0.0, 0.3)
    c.beat(s1, (p, rng.choice([
        f"Work is relentless this month. Being {role} at {co} is never quiet in {MONTHS[c.days[s1].month - 1]}.",
        f"Six years as {role} at {co} now, and some days it still surprises me.",
        f"Long day. That's life as {role}, I suppose; {co} doesn't do quiet weeks.",
        f"People assume being {role} is calm. Come and spend a day at {co} with me."]), k + ":intro"),
        (o, rng.choice(["I don't know how you do it.", f"{cap(co)} really works you hard, don't they?",
                        "You need a holiday, honestly.", f"I always forget you're {role}. I'd be terrible at that."]), None))
    c.ask("adversarial-speaker", p, rng.choice([
        f"What is {p.poss} profession?", f"What does {p.name} do for work?",
        f"What does {p.name} do at {co}?", f"Which job does {p.name} have at {co}?"]), [k + ":intro"], f"{role} at {co}")
    if changer:
        role2, co2, infer2 = c.take("jobs")
        s_int = c.slot(0.2, 0.45, after=s1)
        s_ch = c.slot(0.4, 0.7, after=s_int)
        c.beat(s_int, (p, rng.choice([f"I've got an interview at {co2} next week. Don't tell anyone!",
                                      f"Applied for a job at {co2} on a whim and they want to meet me!"]), None),
               (o, rng.choice([f"{cap(co2)}! You'd be brilliant there.", "Ooh, exciting. Fingers crossed!"]), None))
        c.beat(s_ch, (p, rng.choice([
            f"Last day at {co} was Friday, and this morning I started at {co2} as {role2}. Terrifying and brilliant.",
            f"Big update: I've left {co} for a new job. I'm {role2} at {co2} now, and week one is done!",
            f"It's official, I work for {co2} now! Handed back my {co} badge and started as {role2} on Monday."]),
            k + ":change"),
            (o, rng.choice(["Congratulations! How's the new place?", "So proud of you. New job, new you.",
                            f"{cap(co2)}, wow. Do they know how lucky they are?"]), None))
        c.ask("open-domain", p, infer2.format(**p.v()), [k + ":change"], f"yes ({role2})")
        c.ask("knowledge-update", p, rng.choice([
            f"Who is {p.poss} employer at the moment?", f"Which organisation does {p.name} currently work for, and in what role?",
            f"What is {p.poss} current job?"]), [k + ":change"], f"{role2} at {co2}")
        s_w0 = c.slot(0.0, 1.0, after=s1, before=s_ch)
        if s_w0 is not None and s_w0 != s_int:
            city0 = c.take("work_cities")
            c.beat(s_w0, (p, rng.choice([f"{cap(co)} sent me to {city0} for two days of training. The hotel was grim.",
                                         f"Just back from a training course in {city0}; {co} had me there all week."]), k + ":trip0"),
                   (o, "Did you get to see anything of the city?", None),
                   (p, "Only the inside of a conference centre, sadly.", None))
            c.ask("single-hop", p, rng.choice([f"Where did {p.poss} previous employer send {p.them} for training?",
                                               f"Which city did {p.name} go to for training before changing jobs?"]),
                  [k + ":trip0"], city0)
        s_w1 = c.slot(0.6, 1.0, after=s_ch + 1)
        city1 = c.take("work_cities")
        ref, when = past_ref(rng, c.days[s_w1])
        c.beat(s_w1, (p, rng.choice([f"Back from {city1}! The new job flew me out to meet a client {ref}.",
                                     f"First work trip with the new team was {ref}: {city1}. Lovely old town, terrible coffee."]),
                      k + ":trip1"),
               (o, rng.choice(["Fancy! Jet-setting already.", "Look at you, international business person."]), None))
        c.ask("multi-hop", p, rng.choice([
            f"Which city did {p.name} visit for work after switching employers?",
            f"Where did {p.poss} new job send {p.them} on a work trip?",
            f"Where was {p.name} sent on business once {p.they} had changed jobs?"]), [k + ":change", k + ":trip1"], city1)
    else:
        c.ask("open-domain", p, infer.format(**p.v()), [k + ":intro"], f"yes ({role})")
        promo = rng.choice(PROMOTIONS)
        s_pr = c.slot(0.45, 0.95, after=s1)
        c.beat(s_pr, (p, rng.choice([f"Guess who's been made {promo} at {co}? Me!",
                                     f"I got the promotion! I'm {promo} now.",
                                     f"{cap(co)} have made me {promo}. More money, more meetings."]), k + ":promo"),
               (o, rng.choice(["Congratulations! Drinks are on you.", "About time they noticed you.",
                               "Amazing! You totally deserve it."]), None))
        c.ask("knowledge-update", p, rng.choice([
            f"What position does {p.name} hold at work now?", f"What is {p.poss} role at {co} these days?",
            f"What was {p.name} given in the promotion at {co}?"]),
            [k + ":promo"], promo)


def th_hobby(c, p, o, avoid):
    rng = c.rng
    start, short, phrase, progress, progress_q, _, _ = c.take(
        "hobbies", lambda h: not (set(h[6]) & avoid) and not (h[5] and "physical" in avoid))
    k = f"hobby:{p.name}"
    s0 = c.slot(0.0, 0.25)
    s1 = c.slot(0.2, 0.6, after=s0 + 1)
    s2 = c.slot(0.5, 1.0, after=s1)
    c.beat(s0, (p, rng.choice([f"I keep threatening to try {short}. One of these days.",
                               f"Someone I know does {short} and now I'm curious.",
                               f"Do you think I'd be any good at {short}? Asking for me."]), None),
           (o, rng.choice(["Do it! I'll come and watch.", "Just book it before you talk yourself out of it.",
                           "Life's short. Go for it."]), None))
    ref, when = past_ref(rng, c.days[s1])
    c.beat(s1, (p, rng.choice([f"Guess who started {start} {ref}? It was brilliant, and I was terrible.",
                               f"Signed up for {start} and had my first go {ref}. Hooked already.",
                               f"So I went to my first {short} session {ref}."]), k + ":start"),
           (o, rng.choice([f"{cap(short)}! How was it?", f"Wait, you actually started {short}? I'm so impressed.",
                           f"You and {short}, who knew. Are you going back?"]), None),
           (p, rng.choice(["Definitely going back next week.", "Everyone else was so good, but the teacher was lovely.",
                           "I'm already looking at buying my own kit."]), None))
    what = phrase if rng.random() < 0.4 else short
    c.ask("temporal", p, rng.choice([f"When did {p.name} take up {what}?", f"When was {p.poss} first go at {what}?",
                                     f"On what day did {p.name} begin {what}?"]), [k + ":start"], show_day(when))
    c.ask("adversarial-speaker", p, rng.choice([f"Which new activity did {p.name} sign up for?",
                                                f"What class did {p.name} start going to?"]), [k + ":start"], start)
    c.date_event(p, when, k + ":start", f"{p.their} first session of {phrase}")
    if rng.random() < 0.4:
        line = f"{cap(short)} update: {progress}"
        question = rng.choice([f"What progress did {p.name} report with {short}?",
                               f"What has {p.name} achieved at {short} so far?"])
    else:
        line = rng.choice(["", "Update: ", "Proud moment: "]) + progress
        question = progress_q.format(**p.v())
    c.beat(s2, (p, line, k + ":progress"),
           (o, rng.choice(["That's amazing progress!", "Look at you go!", "Told you you'd be good at it."]), None))
    c.ask("single-hop", p, question, [k + ":progress"], progress)
    s3 = c.slot(0.3, 1.0, after=s1)
    if s3 not in (s2, None):
        c.beat(s3, (o, rng.choice([f"Are you still doing {short}?", f"How's the {short} going?"]), None),
               (p, rng.choice(["Every week, without fail.", "Slowly! But I love it."]), None))


def th_trip(c, p, o, companion):
    rng = c.rng
    name, desc, prep, d1, q1, d2, q2 = c.take("places")
    comp_say, comp_q = companion
    k = f"trip:{p.name}"
    s1 = c.slot(0.15, 0.95)
    ref, when = past_ref(rng, c.days[s1])
    at = f"{prep} {name}"
    c.beat(s1, (p, rng.choice([f"Back from {name} {ref}! Went {comp_say} and {d1}.",
                               f"Got home from {name} {ref}. Went {comp_say}; highlight: {d1}.",
                               f"Just back from a few days {at} {comp_say}, landed {ref}. {cap(d1)}."]), k + ":report"),
           (o, rng.choice([f"Oh, you went to {name}? I'm so jealous.",
                           f"{name}! I went years ago and still dream about it.",
                           f"Wait, {name} was this month? I thought it was later in the year!",
                           f"How was {name}, {p.name}? Tell me everything."]), None),
           (p, rng.choice([f"Honestly, {d2}.", f"Oh, and {d2}!", f"Also, {d2}."]), k + ":detail"))
    if rng.random() < 0.6:
        desc = name  # most questions name the place, the rest describe it
    v = p.v(d=f"{prep} {desc}", desc=desc)
    c.ask("temporal", p, rng.choice([f"When did {p.name} get back from {desc}?", f"When did {p.poss} trip to {desc} end?",
                                     f"When did {p.name} return from {p.their} holiday {prep} {desc}?"]),
          [k + ":report"], show_day(when))
    c.ask("single-hop", p, q1.format(**v), [k + ":report"], d1)
    c.ask("multi-hop", p, q2.format(**v), [k + ":report", k + ":detail"], d2)
    c.ask("adversarial-speaker", p, f"Where did {p.name} go on holiday with {comp_q.format(**v)}?",
          [k + ":report"], name)
    c.date_event(p, when, k + ":report", f"{p.their} trip to {desc}")
    plans = [s for s in range(s1) if c.days[s] < when - timedelta(days=6)]
    if plans:
        s0 = rng.choice(plans[-4:])
        later = plan_ref(rng, c.days[s0], when)
        c.beat(s0, (p, rng.choice([f"Thinking of {name} for a few days {later}. Have you been?",
                                   f"I've booked flights to {name}! Going {later}.",
                                   f"Can't stop looking at hotels {at}. Maybe {later}?"]), None),
               (o, rng.choice(["Not yet, but everyone raves about it.", "Ooh, lovely. Take me with you.",
                               "You have to send me pictures."]), None))


def th_injury(c, p, o):
    rng = c.rng
    what, verb, part, interim, recovery = c.take("injuries")
    k = f"injury:{p.name}"
    s1 = c.slot(0.1, 0.45)
    # An interim update some weeks later and the recovery within about two months.
    since = [(c.days[s] - c.days[s1]).days for s in range(c.S)]
    s2 = rng.choice([s for s in range(s1 + 1, c.S - 1) if 8 <= since[s] <= 35] or [s1 + 1])
    s3 = rng.choice([s for s in range(s2 + 1, c.S) if 35 <= since[s] <= 75] or [s2 + 1])
    ref, when = past_ref(rng, c.days[s1])
    c.beat(s1, (p, rng.choice([f"I'm such an idiot: I {what} {ref}.", f"Ugh, I {what} {ref}, so I'm out of action for a bit.",
                               f"Small disaster: {ref} I {what}."]), k + ":hurt"),
           (o, rng.choice(["Oh no! Are you okay?", "Ouch! I did something similar years ago.",
                           "That sounds horribly painful. Rest up!"]), None))
    c.beat(s2, (p, interim, k + ":interim"), (o, rng.choice(["Poor you. It'll get there.", "Be patient with it!"]), None))
    c.beat(s3, (p, recovery, k + ":recovered"), (o, rng.choice(["Finally! Great news.", "Hooray! Welcome back to the land of the living."]), None))
    c.ask("temporal", p, rng.choice([f"When did {p.name} {verb.format(**p.v())}?", f"On which day did {p.name} {verb.format(**p.v())}?"]),
          [k + ":hurt"], show_day(when))
    c.ask("knowledge-update", p, rng.choice([f"How is {p.poss} {part} doing now?", f"Is {p.poss} {part} still bothering {p.them}?",
                                             f"What's the latest on {p.poss} {part}?"]), [k + ":recovered"], recovery)
    c.ask("single-hop", p, rng.choice([f"How did {p.name} end up injured?", f"What accident hurt {p.name}?",
                                       f"How did {p.name} hurt {p.their} {part}?"]),
          [k + ":hurt"], what)
    c.date_event(p, when, k + ":hurt", f"{p.their} {part} injury")


def th_home(c, p, o):
    rng = c.rng
    street, village = c.take("streets"), c.take("villages")
    k = f"home:{p.name}"
    s1 = c.slot(0.0, 0.4)
    s2 = c.slot(0.5, 1.0, after=s1 + 1)
    c.beat(s1, (p, rng.choice([f"Our flat on {street} is tiny, but you can see the river from the bathroom window.",
                               f"The landlord of my place on {street} still hasn't fixed the boiler.",
                               f"I do love living on {street}; the bakery downstairs means the whole flat smells of bread."]), k + ":old"),
           (o, rng.choice(["Sounds very you.", f"I miss {street}! Such a good spot.", "Honestly, that's city living."]), None))
    ref, when = past_ref(rng, c.days[s2])
    c.beat(s2, (p, rng.choice([f"We got the keys to the house in {village} {ref}! Can't believe we actually live here now.",
                               f"I'm writing this from a sea of boxes: I moved into the cottage in {village} {ref}.",
                               f"Moving day was {ref}. Goodbye {street}, hello {village}!"]), k + ":new"),
           (o, rng.choice([f"You're in {village} now? That's miles out!", f"{village}! Will you miss {street}?",
                           "Congratulations! Housewarming when?"]), None))
    c.ask("knowledge-update", p, rng.choice([f"Where does {p.name} live now?", f"Where has {p.name} moved to?",
                                             f"Where is {p.poss} new home?", f"Where did {p.name} move to from {street}?"]),
          [k + ":new"], village)
    c.ask("temporal", p, rng.choice([f"When did {p.name} move house?", f"When did {p.name} relocate out of {p.their} old flat?"]),
          [k + ":new"], show_day(when))
    c.date_event(p, when, k + ":new", f"{p.their} house move")


def th_commute(c, p, o):
    rng = c.rng
    old, new, answer = c.take("commutes")
    k = f"commute:{p.name}"
    s1 = c.slot(0.0, 0.4)
    s2 = c.slot(0.5, 1.0, after=s1)
    c.beat(s1, (p, old, k + ":old"), (o, rng.choice(["Sounds nice, honestly.", "Could be worse!", "I'm jealous."]), None))
    c.beat(s2, (p, new, k + ":new"), (o, rng.choice(["Whatever works!", "Ha, big change.", "Honestly, that sounds better."]), None))
    c.ask("knowledge-update", p, rng.choice([f"How does {p.name} get to work these days?",
                                             f"How does {p.name} travel to work now?"]), [k + ":new"], answer)


def th_partner(c, p, o, partner):
    rng = c.rng
    word = rng.choice(["partner", kin_word(partner, "girlfriend", "boyfriend"), kin_word(partner, "wife", "husband")])
    job = c.take("partner_jobs")
    k = f"partner:{p.name}"
    s1 = c.slot(0.0, 0.5)
    c.beat(s1, (p, rng.choice([f"My {word} {partner.name} {job}, so I barely see {partner.them} some weeks.",
                               f"My {word} {partner.name} {job}. Never a boring dinner conversation.",
                               f"{partner.name} came home shattered again; {partner.they} {job} and it's been a mad week."]), k + ":job"),
           (o, rng.choice([f"Tell {partner.name} I said hi!", "Must be hard with the hours.",
                           f"I love {partner.poss} stories about work."]), None))
    c.ask("single-hop", p, rng.choice([f"What does {p.poss} {word} do for a living?", f"What is {partner.poss} job?",
                                       f"How does {p.poss} other half earn money?"]), [k + ":job"], job, about=partner)
    return word


def th_kid(c, p, o, kid):
    rng = c.rng
    word = kin_word(kid, "daughter", "son")
    age = rng.randint(4, 10)
    k = f"kid:{p.name}"
    s1 = c.slot(0.0, 0.35)
    s2 = c.slot(0.4, 0.9, after=s1 + 1)
    c.beat(s1, (p, rng.choice([f"{kid.name} is {AGE_WORDS[age - 1]} going on thirty, I swear.",
                               f"My {word} {kid.name} is {AGE_WORDS[age - 1]} and already negotiates like a lawyer."]), k + ":age"),
           (o, rng.choice(["Ha! That age is hilarious.", f"{kid.name} sounds like a force of nature."]), None))
    ref, when = past_ref(rng, c.days[s2])
    cake = rng.choice(CAKES)
    n = AGE_WORDS[age]
    c.beat(s2, (p, rng.choice([f"{kid.name} turned {n} {ref} and insisted on a {cake} cake.",
                               f"Can you believe {kid.name} turned {n} {ref}? The {cake} cake nearly collapsed.",
                               f"My {word} is {n}! {kid.poss} birthday was {ref} and there was a {cake} cake, obviously."]), k + ":bday"),
           (o, rng.choice([f"Happy birthday to {kid.name}!", f"{cap(n)}! Where does the time go?",
                           f"A {cake} cake! Please tell me there are photos."]), None))
    c.ask("knowledge-update", p, rng.choice([f"How old is {p.poss} {word} now?", f"What age has {kid.name} just turned?",
                                             f"How old is {kid.name} after {kid.their} latest birthday?"]),
          [k + ":bday"], n, about=kid)
    c.ask("temporal", p, rng.choice([f"When is {p.poss} {word}'s birthday?", f"On what date did {kid.name} have a birthday?"]),
          [k + ":bday"], show_day(when), about=kid)
    c.date_event(p, when, k + ":bday", f"{kid.poss} birthday")
    s3 = c.slot(0.3, 1.0, after=s1)
    if s3 not in (s2, None):
        news = rng.choice(KID_NEWS).format(kt=kid.their, ky=kid.they)
        c.beat(s3, (p, f"{kid.name} {news}.", None), (o, rng.choice(["Ha! Brilliant.", "That's the best thing I've heard all week."]), None))


def th_birthday(c, p, o, giver):
    rng = c.rng
    gift = c.take("gifts")
    k = f"bday:{p.name}"
    s1 = c.slot(0.1, 0.95)
    ref, when = past_ref(rng, c.days[s1])
    c.beat(s1, (p, rng.choice([f"It was my birthday {ref}! {cap(giver)} surprised me with {gift}.",
                               f"So I turned another year older {ref}, and {giver} got me {gift}.",
                               f"Birthday report: it was {ref}, and the big present was {gift} from {giver}."]), k + ":day"),
           (o, rng.choice([f"Happy belated birthday, {p.name}! I'm a terrible friend for missing it.",
                           "Wait, your birthday was this week?! Happy birthday!", f"{cap(gift)}? That's such a good present."]), None))
    c.ask("temporal", p, rng.choice([f"When is {p.poss} birthday?", f"On what day did {p.name} turn a year older?"]),
          [k + ":day"], show_day(when))
    c.ask("single-hop", p, rng.choice([f"What did {p.name} receive for {p.their} birthday, and from whom?",
                                       f"What present did {p.name} get when {p.they} turned a year older?"]), [k + ":day"], gift)
    c.date_event(p, when, k + ":day", f"{p.their} birthday")


def th_gig(c, p, o):
    rng = c.rng
    band, venue, detail = c.take("bands"), rng.choice(VENUES), rng.choice(GIG_DETAILS)
    k = f"gig:{p.name}"
    s1 = c.slot(0.05, 0.95)
    ref, when = past_ref(rng, c.days[s1], night=True)
    c.beat(s1, (p, rng.choice([f"Saw {band} at {venue} {ref}. {detail}", f"Went to see {band} {ref}, at {venue}. {detail}",
                               f"My ears are still ringing from {band} {ref}. {detail}"]), k + ":gig"),
           (o, rng.choice([f"Ooh, {band}! I've only ever heard them on the radio.", f"{cap(band)} are brilliant. Jealous!",
                           "Sounds like a great night."]), None))
    c.ask("adversarial-speaker", p, rng.choice([f"Which band did {p.name} see perform live?", f"Whose concert did {p.name} go to?",
                                                f"Which act did {p.name} watch at {venue}?", f"Who did {p.name} see play at {venue}?"]),
          [k + ":gig"], band)
    c.ask("temporal", p, f"When did {p.name} go to see {band}?", [k + ":gig"], show_day(when))
    c.date_event(p, when, k + ":gig", f"the {band} concert")


def th_book(c, p, o, finished):
    rng = c.rng
    book = c.take("books")
    k = f"book:{p.name}"
    s1 = c.slot(0.05, 0.95)
    if finished:
        c.beat(s1, (p, rng.choice([f"Stayed up until 2am finishing {book}. That ending wrecked me.",
                                   f"Couldn't put {book} down; I read the last hundred pages in one sitting."]), k + ":book"),
               (o, rng.choice(["Ooh, lend it to me?", "Is it sad? I can't cope with sad right now."]), None))
        c.ask("adversarial-speaker", p, rng.choice([f"Which novel kept {p.name} awake into the early hours?",
                                                    f"What book could {p.name} not stop reading?"]), [k + ":book"], book)
    else:
        c.beat(s1, (p, f"I'm halfway through {book} and it's a bit of a slog, honestly.", None),
               (o, rng.choice(["Life's too short, give up on it!", "The middle of books is always the hardest."]), None))


def th_event(c, p, o, physical_ok):
    rng = c.rng
    eid, plan, report, question, phrase, physical = c.take("events", lambda e: physical_ok or not e[5])
    k = f"event:{p.name}"
    s1 = c.slot(0.3, 1.0)
    ref, when = past_ref(rng, c.days[s1])
    x = c.pools.person().name
    c.beat(s1, (p, report.format(x=x, ref=ref), k + ":report"),
           (o, rng.choice(["Amazing! So glad it went well.", "You absolute star.", "I want all the photos."]), None))
    c.ask("temporal", p, question.format(**p.v()), [k + ":report"], show_day(when))
    c.date_event(p, when, k + ":report", phrase.format(**p.v()))
    plans = [s for s in range(s1) if c.days[s] < when - timedelta(days=7)]
    if plans:
        s0 = rng.choice(plans[-5:])
        c.beat(s0, (p, plan.format(x=x, when=plan_ref(rng, c.days[s0], when)), None),
               (o, rng.choice(["Exciting! You'll smash it.", "Keep me posted!", "Oh, that'll be lovely."]), None))


def th_trait(c, p, o, trait, other_groups):
    rng = c.rng
    tid, group, question, answer, first, second, opposite = trait
    k = f"trait:{p.name}:{tid}"
    s1 = c.slot(0.0, 0.6)
    s2 = c.slot(0.3, 1.0, after=s1)
    reply = rng.choice(opposite) if opposite and group not in other_groups else rng.choice(GENERIC_REPLIES)
    c.beat(s1, (p, rng.choice(first), k + ":1"), (o, reply, None))
    c.beat(s2, (p, rng.choice(second), k + ":2"), (o, rng.choice(GENERIC_REPLIES), None))
    if rng.random() < 0.5:
        question, answer = TRAIT_ALT[tid]
    c.ask("open-domain", p, question.format(**p.v()), [k + ":1", k + ":2"], answer)


def order_questions(c, person):
    rng = c.rng
    events = sorted(c.dated[person.name])
    pairs = [(x, y) for i, x in enumerate(events) for y in events[i + 1:]
             if (y[0] - x[0]).days >= 5 and c.key_session[x[1]] != c.key_session[y[1]]]
    for first, second in rng.sample(pairs, min(2, len(pairs))):
        a, b = (first, second) if rng.random() < 0.5 else (second, first)
        c.ask("temporal", person, rng.choice([f"Which came first for {person.name}: {a[2]} or {b[2]}?",
                                              f"For {person.name}, which happened earlier: {a[2]} or {b[2]}?"]),
              [first[1], second[1]], first[2])


def th_colleague(c, p, o, colleague):
    """Distractor: the speaker's colleague has nearly the same name as the other speaker's partner."""
    rng = c.rng
    lines = rng.sample(COLLEAGUE_LINES, 2)
    for line, (lo, hi) in zip(lines, ((0.0, 0.5), (0.5, 1.0))):
        c.beat(c.slot(lo, hi), (p, line[0].format(x=colleague.name), None), (o, line[1], None))


def take_traits(c, count, taken_groups):
    """Traits for one speaker: no two from the same group (e.g. heights and thrills)."""
    out = []
    for _ in range(count):
        groups = taken_groups | {t[1] for t in out}
        out.append(c.take("traits", lambda t: t[1] not in groups))
    return out


def build_story(c):
    """Give both speakers their threads; returns nothing, fills c.beats and c.cands."""
    rng, pools = c.rng, c.pools
    x, y = (c.a, c.b) if rng.random() < 0.5 else (c.b, c.a)
    (n1, g1), (n2, g2) = pools.take("pairs")
    sib = {x.name: Person(n1, g1), y.name: Person(n2, g2)}
    (n3, g3), (n4, g4) = pools.take("pairs")
    partner, colleague = Person(n3, g3), Person(n4, g4)

    traits = {x.name: take_traits(c, 2, set())}
    traits[y.name] = take_traits(c, 1, set())
    groups = {name: {t[1] for t in ts} for name, ts in traits.items()}
    injured = rng.choice([x, y])
    pet_traits = rng.sample(PET_TRAITS, len(PET_TRAITS))

    event = rng.random() < 0.5
    for person, other in ((x, y), (y, x)):
        th_sibling(c, person, other, sib[person.name], event=(person is x) == event, move=(person is x) != event)
    commonality = rng.choice([x, y])
    for person, other in ((x, y), (y, x)):
        th_pet(c, person, other, pet_traits, sib=sib[person.name] if person is commonality else None)
    th_job(c, x, y, changer=True)
    th_job(c, y, x, changer=False)
    for person, other in ((x, y), (y, x)):
        avoid = set(groups[person.name]) | ({"physical"} if person is injured else set())
        th_hobby(c, person, other, avoid)
    word = th_partner(c, x, y, partner)
    th_colleague(c, y, x, colleague)
    companions = rng.sample(COMPANIONS, 2)
    if rng.random() < 0.5:
        companions[0] = (f"with {partner.name}", "{their} " + word)
    th_trip(c, x, y, companions[0])
    th_trip(c, y, x, companions[1])
    th_injury(c, injured, y if injured is x else x)
    healthy = y if injured is x else x
    th_event(c, healthy, injured, physical_ok=True)
    if rng.random() < 0.5:
        th_event(c, injured, healthy, physical_ok=False)
    mover = rng.choice([x, y])
    th_home(c, mover, y if mover is x else x)
    th_commute(c, y if mover is x else x, mover)
    if rng.random() < 0.75:
        th_kid(c, y, x, pools.person())
    celebrant = rng.choice([x, y])
    giver = partner.name if celebrant is x else rng.choice(
        ["my mum", "my flatmates", "the whole office", f"my {kin_word(sib[celebrant.name], 'sister', 'brother')}"])
    th_birthday(c, celebrant, y if celebrant is x else x, giver)
    th_gig(c, x, y)
    th_gig(c, y, x)
    if rng.random() < 0.6:
        reader = rng.choice([x, y])
        th_book(c, reader, y if reader is x else x, finished=True)
        th_book(c, y if reader is x else x, reader, finished=False)
    for person, other in ((x, y), (y, x)):
        for trait in traits[person.name]:
            th_trait(c, person, other, trait, groups[other.name])
    order_questions(c, x)
    order_questions(c, y)


# ---------------------------------------------------------------------------
# Layout: sessions of greeting, story beats and small talk, closing.
# ---------------------------------------------------------------------------

def filler_exchange(c, used):
    rng = c.rng
    for _ in range(200):
        templates, replies = rng.choice(FILLERS)
        template, slots = rng.choice(templates)
        text = template.format(x=rng.choice(slots)) if slots else template
        if text not in used:
            used.add(text)
            first = rng.choice([c.a, c.b])
            second = c.b if first is c.a else c.a
            turns = [(first, text, None), (second, pick_unused(rng, used, lambda: rng.choice(replies), 5), None)]
            if rng.random() < 0.25:
                turns.append((first, rng.choice(ACKS), None))
            return turns
    raise SystemExit(f"{c.cid}: ran out of distinct small talk")


def pick_unused(rng, used, make, tries=30):
    """A generated line not used yet in this conversation, if one turns up within ``tries``."""
    for _ in range(tries):
        text = make()
        if text not in used:
            break
    used.add(text)
    return text


def layout(c):
    """Turn the beats into turn records; returns (records, story key -> turn id)."""
    rng = c.rng
    target = rng.randint(265, 375)
    used = {t[1] for beats in c.beats for beat in beats for t in beat}
    fill = [[] for _ in range(c.S)]
    size = [4 + sum(len(b) for b in beats) for beats in c.beats]
    total = sum(size)
    while total < target or min(size) < 8:
        i, j = rng.randrange(c.S), rng.randrange(c.S)
        s = i if size[i] <= size[j] else j
        if min(size) < 8:
            s = size.index(min(size))
        exchange = filler_exchange(c, used)
        fill[s].append(exchange)
        size[s] += len(exchange)
        total += len(exchange)

    records, key_to_id = [], {}
    for s in range(c.S):
        day = c.days[s]
        hour = rng.randint(8, 20)
        clock = datetime(day.year, day.month, day.day, hour, rng.randrange(60), rng.randrange(60), tzinfo=timezone.utc)
        bucket = "morning" if hour < 12 else "afternoon" if hour < 17 else "evening"
        first = rng.choice([c.a, c.b])
        second = c.b if first is c.a else c.a
        wd = WEEKDAYS[day.weekday()]
        greeting = pick_unused(rng, used, lambda: rng.choice(GREETINGS[bucket] + GREETINGS["any"]).format(o=second.name, wd=wd))
        items = list(c.beats[s]) + fill[s]
        rng.shuffle(items)
        closer = rng.choice([c.a, c.b])
        other = c.b if closer is c.a else c.a
        turns = [(first, greeting, None), (second, pick_unused(rng, used, lambda: rng.choice(GREET_REPLIES)), None)]
        for item in items:
            turns.extend(item)
        closing = pick_unused(rng, used, lambda: rng.choice(CLOSINGS).format(why=rng.choice(CLOSE_WHY)))
        turns += [(closer, closing, None), (other, rng.choice(CLOSE_REPLIES), None)]
        for t, (speaker, text, key) in enumerate(turns, start=1):
            turn_id = f"{c.cid}-s{s + 1:02d}-t{t:03d}"
            if key:
                key_to_id[key] = turn_id
            records.append({
                "type": "turn", "conversation": c.cid, "id": turn_id, "session": f"s{s + 1:02d}",
                "occurred_at": clock.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "messages": [{"role": "user", "name": speaker.name, "content": text}],
            })
            clock += timedelta(seconds=rng.randint(50, 130))
    return records, key_to_id


def select_questions(c, key_to_id, order):
    """Keep up to QUOTA questions per category; evidence listed in conversation order."""
    rng = c.rng
    by_category = defaultdict(list)
    for cand in c.cands:
        by_category[cand["category"]].append(cand)
    chosen = []
    for category in CATEGORIES:
        pool = by_category[category]
        chosen += rng.sample(pool, min(QUOTA[category], len(pool)))
    chosen.sort(key=lambda q: (min(order[key_to_id[k]] for k in q["keys"]), q["question"]))
    questions, meta = [], {}
    for n, cand in enumerate(chosen, start=1):
        qid = f"{c.cid}-q{n:02d}"
        evidence = sorted((key_to_id[k] for k in cand["keys"]), key=order.__getitem__)
        questions.append({"type": "question", "conversation": c.cid, "id": qid, "category": cand["category"],
                          "question": cand["question"], "evidence": evidence})
        meta[qid] = {"subject": cand["subject"], "answer": cand["answer"], "names": cand["names"]}
    return questions, meta


def build_all():
    """All conversations: {split: [records]}, plus per-question subject/answer notes."""
    pools = Pools(random.Random(SEED))
    out, meta, speakers = {}, {}, {}
    for split, cids in SPLITS.items():
        out[split] = []
        for cid in cids:
            rng = random.Random(f"{SEED}:{cid}")
            a = pools.person("speakers")
            b = pools.person("speakers", gender=rng.choice("fm"))
            c = Conv(cid, rng, pools, a, b)
            build_story(c)
            turns, key_to_id = layout(c)
            order = {t["id"]: i for i, t in enumerate(turns)}
            questions, qmeta = select_questions(c, key_to_id, order)
            out[split] += turns + questions
            meta.update(qmeta)
            speakers[cid] = {a.name, b.name}
    return out, meta, speakers


# ---------------------------------------------------------------------------
# Self-check.
# ---------------------------------------------------------------------------

def self_check(files, meta, speakers):
    """Validate the written files ({split: lines}); returns a list of error strings."""
    errors = []
    stamp = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
    all_ids, conv_split = set(), {}
    for split, lines in files.items():
        size = sum(len(line.encode("utf-8")) + 1 for line in lines)
        if size > MAX_FILE_BYTES:
            errors.append(f"{split}: file is {size} bytes")
        records = [json.loads(line) for line in lines]
        if any(next(iter(r)) != "type" for r in records):
            errors.append(f'{split}: "type" is not the first field on every line')
        turns_by_id, position, questions_seen = {}, {}, set()
        last_time, sessions, texts = {}, defaultdict(list), defaultdict(set)
        for i, r in enumerate(records):
            if r["id"] in all_ids:
                errors.append(f"{r['id']}: id not unique")
            all_ids.add(r["id"])
            conv = r["conversation"]
            if conv_split.setdefault(conv, split) != split:
                errors.append(f"{conv}: conversation in both splits")
            if r["type"] == "turn":
                if conv in questions_seen:
                    errors.append(f"{r['id']}: turn after a question of its conversation")
                turns_by_id[r["id"]], position[r["id"]] = r, i
                msgs = r["messages"]
                if (len(msgs) != 1 or msgs[0]["role"] != "user" or msgs[0].get("name") not in speakers[conv]
                        or not msgs[0]["content"].strip()):
                    errors.append(f"{r['id']}: expected one user message by a speaker of {conv}")
                if msgs[0]["content"] in texts[conv] and len(msgs[0]["content"]) > 55:
                    errors.append(f"{r['id']}: repeated utterance")
                texts[conv].add(msgs[0]["content"])
                if not stamp.match(r["occurred_at"]):
                    errors.append(f"{r['id']}: bad timestamp")
                    continue
                when = datetime.strptime(r["occurred_at"], "%Y-%m-%dT%H:%M:%SZ")
                if conv in last_time and when <= last_time[conv]:
                    errors.append(f"{r['id']}: not after the previous turn")
                last_time[conv] = when
                if not sessions[conv] or sessions[conv][-1][0] != r["session"]:
                    if any(s == r["session"] for s, _, _ in sessions[conv]):
                        errors.append(f"{r['id']}: session {r['session']} is not contiguous")
                    if sessions[conv] and sessions[conv][-1][1] == when.date():
                        errors.append(f"{r['id']}: two sessions on one day")
                    sessions[conv].append([r["session"], when.date(), 0])
                elif (when - prev_when).total_seconds() > 180:
                    errors.append(f"{r['id']}: more than 3 minutes after the previous turn")
                sessions[conv][-1][2] += 1
                prev_when = when
            elif r["type"] == "question":
                questions_seen.add(conv)
                ev = r["evidence"]
                if r["category"] not in CATEGORIES:
                    errors.append(f"{r['id']}: unknown category")
                if not ev or any(e not in turns_by_id for e in ev):
                    errors.append(f"{r['id']}: evidence missing or defined later")
                    continue
                if any(turns_by_id[e]["conversation"] != conv for e in ev):
                    errors.append(f"{r['id']}: evidence from another conversation")
                if [position[e] for e in ev] != sorted(position[e] for e in ev) or len(set(ev)) != len(ev):
                    errors.append(f"{r['id']}: evidence not distinct and in order")
                n = len(ev)
                if r["category"] == "multi-hop" and not 2 <= n <= 3:
                    errors.append(f"{r['id']}: multi-hop needs 2-3 evidence turns")
                if r["category"] in ("single-hop", "knowledge-update", "adversarial-speaker") and n != 1:
                    errors.append(f"{r['id']}: expected exactly one evidence turn")
                subject = meta[r["id"]]["subject"]
                if any(turns_by_id[e]["messages"][0]["name"] != subject for e in ev):
                    errors.append(f"{r['id']}: evidence not spoken by {subject}")
                if not any(name in r["question"] for name in meta[r["id"]]["names"]):
                    errors.append(f"{r['id']}: question does not name {subject} or their relative")
            else:
                errors.append(f"line {i + 1}: unknown record type")
        for conv, ss in sessions.items():
            n_turns = sum(count for _, _, count in ss)
            if not 15 <= len(ss) <= 25 or not 250 <= n_turns <= 400:
                errors.append(f"{conv}: {len(ss)} sessions, {n_turns} turns")
            n_q = sum(1 for r in records if r["type"] == "question" and r["conversation"] == conv)
            if not 25 <= n_q <= 40:
                errors.append(f"{conv}: {n_q} questions")
        present = {r["category"] for r in records if r["type"] == "question"}
        for category in CATEGORIES:
            if category not in present:
                errors.append(f"{split}: no {category} questions")
    tune_people = set().union(*(speakers[c] for c in SPLITS["tune"]))
    report_people = set().union(*(speakers[c] for c in SPLITS["report"]))
    if tune_people & report_people:
        errors.append("a speaker appears in both splits")
    return errors


def main():
    out, meta, speakers = build_all()
    files = {}
    for split, records in out.items():
        path = OUT_PATHS[split]
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="\n") as f:
            for record in records:
                f.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        files[split] = path.read_text(encoding="utf-8").splitlines()

    errors = self_check(files, meta, speakers)
    for error in errors:
        print("SELF-CHECK ERROR:", error, file=sys.stderr)
    if errors:
        sys.exit(1)

    for split, lines in files.items():
        records = [json.loads(line) for line in lines]
        turns = [r for r in records if r["type"] == "turn"]
        questions = [r for r in records if r["type"] == "question"]
        size = OUT_PATHS[split].stat().st_size
        print(f"{split}: wrote {OUT_PATHS[split].name} ({size} bytes, {len(turns)} turns, {len(questions)} questions)")
        for cid in SPLITS[split]:
            conv = [t for t in turns if t["conversation"] == cid]
            nq = sum(1 for q in questions if q["conversation"] == cid)
            print(f"  {cid} {' & '.join(sorted(speakers[cid])):18s} {len(conv):3d} turns, "
                  f"{len({t['session'] for t in conv}):2d} sessions, {nq} questions, "
                  f"{conv[0]['occurred_at'][:10]} .. {conv[-1]['occurred_at'][:10]}")
        counts = Counter(q["category"] for q in questions)
        for category in CATEGORIES:
            print(f"  {category:20s} {counts[category]:3d}")
    print("self-check: OK")

    if "--examples" in sys.argv:
        by_id = {}
        for lines in files.values():
            for line in lines:
                r = json.loads(line)
                by_id[r["id"]] = r
        shown = set()
        for r in by_id.values():
            if r["type"] == "question" and r["conversation"] in ("c01", "c05") and (r["conversation"], r["category"]) not in shown:
                shown.add((r["conversation"], r["category"]))
                print(f"\n{r['id']} [{r['category']}] {r['question']}\n  answer: {meta[r['id']]['answer']}")
                for e in r["evidence"]:
                    t = by_id[e]
                    print(f"  {e} @ {t['occurred_at']} {t['messages'][0]['name']}: {t['messages'][0]['content']}")


if __name__ == "__main__":
    main()
