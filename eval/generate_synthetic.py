#!/usr/bin/env python3
"""Generate the synthetic long-term-memory retrieval dataset ``synthetic-v1``.

The dataset simulates four fictional users chatting with an assistant over
roughly six months. Each conversation is a chronological list of turns (one
user message plus one assistant reply) grouped into sessions that are days or
weeks apart. Questions at the end of the file name the turns (``evidence``)
that hold the facts needed to answer them, so a retrieval service can be
scored on whether it finds those turns.

Question categories:
  single-hop        one turn states the fact; the question paraphrases it
  multi-hop         two turns must be combined (e.g. a pet's name + an event)
  temporal          when / in which order something happened
  knowledge-update  a fact changed later; evidence is the updating turn only
  lexical           hinges on a rare exact token (codes, numbers, nicknames)

Most evidence turns have "distractor" turns on a similar topic with different
details, and the rest of each conversation is filler small talk built from
templates that never touch the facts being asked about.

All content is hand-written for this file. Output is deterministic (fixed
seed, stdlib only, no network). Run from the repository root:

    python3 eval/generate_synthetic.py

This rewrites eval/datasets/synthetic-v1.jsonl, re-reads it, runs a
self-check and prints summary counts. Format (JSONL, "type" first):

    {"type":"turn","conversation":"maya","id":"maya-017","session":"s03",
     "occurred_at":"2025-10-02T18:30:00Z","messages":[{"role":"user",...},
     {"role":"assistant",...}]}
    {"type":"question","conversation":"maya","id":"maya-q05",
     "category":"single-hop","question":"...","evidence":["maya-017"]}
"""

import json
import random
import re
import sys
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

SEED = 20260214
OUT_PATH = Path(__file__).resolve().parent / "datasets" / "synthetic-v1.jsonl"
CATEGORIES = ("single-hop", "multi-hop", "temporal", "knowledge-update", "lexical")


def q(category, question, evidence, answer, token=None):
    """A question spec. ``evidence`` holds story keys, resolved to turn ids later.

    ``answer`` is documentation for humans and is not written to the dataset.
    ``token`` (lexical only) must occur in the evidence turns and nowhere else
    in the conversation; the self-check enforces that.
    """
    return {"category": category, "question": question, "evidence": evidence,
            "answer": answer, "token": token}


# ---------------------------------------------------------------------------
# Conversations. "story" rows are (key, session index, user, assistant); every
# fact-bearing turn and every distractor is a story row, placed in a fixed
# session so the timeline is controlled. "life" rows are persona-specific
# filler; generic filler is added from GENERIC_FILLERS.
# ---------------------------------------------------------------------------

MAYA = {
    "name": "maya", "start": "2025-08-18", "sessions": 15, "total_turns": 80,
    # Freelance illustrator in Bristol; partner Jonah, brother Tomasz, greyhound Pickle.
    "story": [
        ("procreate", 0, "Most of my sketching happens in Procreate on the iPad at the moment. I can draw from the sofa, which is dangerous for my posture.",
         "A sofa studio is tempting - maybe set a timer to get up and stretch now and then."),
        ("veggie", 0, "Heads up for any dinner ideas: I've been vegetarian for about five years, so nothing with meat or fish please.",
         "Noted - I'll stick to plant-based and dairy options when suggesting meals."),
        ("partner_job", 1, "Jonah is home this week, which is rare. He does sound for a touring theatre company, so he's on the road half the month.",
         "That kind of schedule is tough - enjoy having him around while you can."),
        ("book_subject", 1, "Signed the contract for my first picture book! It's about a hedgehog who keeps a lighthouse running all on his own.",
         "Congratulations! That's such a charming premise to bring to life."),
        ("book_ref", 2, "Note to self: the publisher's job number for the lighthouse book is HB-2291-LT and it has to go on every invoice.",
         "Saved. It might be worth adding it to your invoice template so it's never missed."),
        ("fox_pitch", 2, "A different publisher asked if I'd illustrate a series about a fox detective. I said no, I simply don't have the time.",
         "Turning work down is hard, but protecting your schedule makes sense."),
        ("pickle_name", 2, "We've adopted a retired racing greyhound! Her name is Pickle and she's already terrified of the hoover.",
         "Welcome home, Pickle. Ex-racers often need a little time to get used to household noises."),
        ("rolo", 3, "Priya's spaniel Rolo swallowed a sock at the park and needed a trip to the emergency vet. Dogs are ridiculous.",
         "That's an alarmingly common vet story - glad it sounds like he's okay."),
        ("penicillin", 3, "Filled in the new GP registration form today and made sure to write that penicillin brings me out in hives.",
         "Good call - that's exactly the kind of thing that needs to be on your record."),
        ("ellie_job", 3, "My friend Ellie has just started as a lighting technician at a concert hall in Cardiff.",
         "Lovely - a venue like that gives her loads of variety from week to week."),
        ("brother_move", 4, "Big family news: my brother Tomasz has accepted a job with an offshore wind company in Aberdeen. He heads north in a few weeks.",
         "What a move! Exciting for him, even if it's a long way from you."),
        ("sketch_rough", 4, "Sent the rough sketches for the lighthouse book off to my editor. Fingers crossed she likes the little scarf I gave him.",
         "Small details like that often win editors over."),
        ("bin_code", 4, "The building manager emailed to say the bin store door code is now 9082, because people kept propping it open.",
         "Worth writing down somewhere you'll actually find it on collection day."),
        ("priya_allergy", 5, "Priya, who shares the studio with me, can't go anywhere near shellfish, so our Friday lunch order is always a saga.",
         "Group orders get tricky with allergies - a regular safe spot might save some hassle."),
        ("boulder_start", 5, "First bouldering induction tonight at the wall near Temple Meads. I'm slightly terrified of falling off.",
         "The mats are thick and inductions cover how to land safely - you'll be fine."),
        ("ada", 5, "My niece Ada is completely obsessed with drawing horses at the moment. It's very sweet.",
         "A budding artist in the family - she's got a good example to follow."),
        ("tomasz_leaves", 6, "Farewell drinks for Tomasz tonight; he drives up to Scotland first thing tomorrow. Strange to think he won't be round the corner any more.",
         "Bittersweet - but it gives you a great excuse for a trip up there."),
        ("grandma_art", 6, "Found a folder of charcoal drawings my gran and I did on leftover wallpaper when I was about six. She's honestly the reason I draw at all.",
         "What a treasure to find - she clearly passed on something that stuck."),
        ("pickle_seed", 7, "Pickle got a grass seed stuck deep in her ear on our walk at Leigh Woods. The vet had to sedate her to get it out; 140 quid later she's fine.",
         "Poor girl - those seeds are a classic hazard. Glad it was caught quickly."),
        ("wobbly_kipper", 7, "There's an overhang at the climbing wall everyone calls 'the Wobbly Kipper' and I finally topped it after eleven attempts!",
         "Eleven goes and a top-out - that's proper persistence."),
        ("tutor", 8, "Funny how things go: my old uni tutor was the one who pushed me into digital inking, and I fought it for a whole year.",
         "The things we resist at first often become our favourite tools."),
        ("jonah_cat", 8, "Jonah keeps sending me photos of cats from every town he stops in. He's lobbying for a second pet, clearly.",
         "Persistent lobbying! Dogs and cats can share a home with careful introductions."),
        ("keysafe", 9, "The landlord changed the code on the studio key safe to 4417 after someone lost their fob.",
         "Good to know - best memorised rather than stuck on a post-it by the door."),
        ("fish_again", 10, "Diet update: my blood test showed low iron, so I've started eating fish again. Sardines on toast, who knew.",
         "Sensible compromise - oily fish packs in a lot of nutrients."),
        ("inv_unpaid", 10, "Invoice INV-0447 to the greeting card company is now six weeks overdue, so I'm chasing it again.",
         "A polite reminder with a firm payment date usually gets things moving."),
        ("priya_son", 10, "Priya's son wants a skateboard for his birthday and she's already panicking about helmets.",
         "Fair enough - a decent helmet and some pads take a lot of the worry away."),
        ("ada_gift", 11, "Putting together a birthday present for Ada: a proper hardback sketchbook, a tin of graphite pencils and a kneadable rubber.",
         "What a lovely kit - real artist's tools make kids feel taken seriously."),
        ("tomasz_porto", 11, "Tomasz sent photos from a long weekend in Porto. Apparently even Aberdeen needs a break from Aberdeen.",
         "Porto's a great escape - the tiled buildings alone are worth the trip."),
        ("clip_studio", 12, "I've moved all my drawing over to Clip Studio on a proper pen display. The iPad is basically a Netflix machine now.",
         "A dedicated display makes a real difference for long inking sessions."),
        ("final_spreads", 12, "Just sent the final spreads for the lighthouse book to the publisher. Done, done, done!",
         "Huge milestone - time to celebrate properly."),
        ("jonah_tour", 13, "Jonah's tour has been extended with dates in Edinburgh and Belfast, so I'm holding the fort at home a while longer.",
         "Long stretch apart - plan something nice for when he's back."),
        ("climb_comp", 14, "Priya wants us to enter a beginners' bouldering competition together. I've said maybe, which means yes.",
         "A friendly comp is a great way to push yourself - that 'maybe' sounds like a yes to me too."),
    ],
    "life": [
        ("Spent hours colouring a batch of greeting cards. My wrist is complaining.", "Long colouring days are hard on the hands - a couple of wrist stretches might help."),
        ("Client asked for 'more pop' on a poster design. No idea what that means, so I've made everything brighter.", "Vague feedback is the worst; brighter is a reasonable first guess."),
        ("Reorganised my brush pens by colour and it felt better than it had any right to.", "A tidy desk can be oddly motivating."),
        ("Had a video call with a magazine about a possible spot illustration. Nothing confirmed yet.", "Fingers crossed it comes through."),
        ("Ran out of printer ink in the middle of printing proofs, of course.", "Printers have an uncanny sense of timing."),
        ("Spent an hour on my portfolio site and only changed one font. Classic.", "Small tweaks count - type matters more than people think."),
        ("Sold two prints through my online shop today, which is always a nice surprise.", "Nice! Passive sales are a lovely little boost."),
        ("Doing my tax paperwork today. Freelance life is so glamorous.", "The least fun part of being self-employed - a good coffee helps."),
        ("Sketched people at the cafe for an hour just to loosen up.", "Drawing strangers is brilliant practice."),
        ("My neighbour's kid asked me to draw a dragon on his plaster cast. I took it very seriously.", "Best commission of the week, surely."),
        ("The studio radiator is making a noise like a distressed goose.", "Might be worth bleeding it - trapped air often causes that."),
        ("Finally framed one of my own prints for the hallway.", "It's nice to live with your own work for once."),
        ("Had a lovely slow morning with coffee and a crossword before starting work.", "Slow mornings are underrated."),
        ("Scanned a pile of old sketchbooks so I have digital backups.", "Tedious, but you'll be glad of them one day."),
    ],
    "questions": [
        q("single-hop", "Which city is my sibling relocating to for his new role?", ["brother_move"], "Aberdeen"),
        q("single-hop", "Which medicine brings me out in a rash?", ["penicillin"], "Penicillin (hives)"),
        q("single-hop", "What is the main character of the children's story I'm illustrating?", ["book_subject"], "A hedgehog who keeps a lighthouse"),
        q("single-hop", "Which family member first taught me to draw, and what did we draw on?", ["grandma_art"], "My gran; charcoal on leftover wallpaper"),
        q("single-hop", "What is my other half's profession?", ["partner_job"], "Sound engineer for a touring theatre company"),
        q("multi-hop", "What did the vet have to remove from my dog after the woodland walk?", ["pickle_name", "pickle_seed"], "A grass seed from Pickle's ear"),
        q("multi-hop", "What am I giving my niece for her birthday?", ["ada", "ada_gift"], "Hardback sketchbook, graphite pencils, kneadable rubber"),
        q("temporal", "When did I hand in the finished artwork for the picture book?", ["final_spreads"], "Date of the evidence turn"),
        q("temporal", "Did I start climbing before or after my brother left for Scotland?", ["boulder_start", "tomasz_leaves"], "Before"),
        q("knowledge-update", "What does my diet look like at the moment?", ["fish_again"], "Vegetarian plus fish (eating fish again)"),
        q("knowledge-update", "Which drawing software am I mainly using these days?", ["clip_studio"], "Clip Studio on a pen display"),
        q("lexical", "What job number goes on my invoices for the picture book?", ["book_ref"], "HB-2291-LT", token="HB-2291-LT"),
        q("lexical", "What's the combination for the key box at my studio?", ["keysafe"], "4417", token="4417"),
        q("lexical", "What is 'the Wobbly Kipper'?", ["wobbly_kipper"], "An overhang at the climbing wall I topped after eleven tries", token="Wobbly Kipper"),
    ],
}

ARJUN = {
    "name": "arjun", "start": "2025-09-01", "sessions": 14, "total_turns": 76,
    # Secondary-school chemistry teacher in Leicester; partner Sam, cat Admiral, plays cello.
    "story": [
        ("cycle_commute", 0, "I cycle to school most days - it's only four miles and it wakes me up before period one.",
         "A good way to clear your head before facing a room of teenagers."),
        ("second_cello", 0, "Rehearsal tonight. I'm second cello in the community orchestra, which suits me: less pressure, same fun.",
         "Sounds like a nice balance - all the music without the spotlight."),
        ("colourblind", 1, "Being red-green colour-blind is a real pain when I demonstrate indicator changes. I get the kids to call the endpoint for me.",
         "Clever workaround - and it turns into a nice bit of student participation."),
        ("y10_largeprint", 1, "One of my Year 10s needs large-print worksheets now, so I'm reformatting everything for the new topic.",
         "Tedious, but it'll make a big difference for them."),
        ("cello_origin", 1, "My cello is about ninety years old; I bought it second-hand from a luthier in Nottingham when I finished uni.",
         "An instrument with that much history must have a lovely mellow voice."),
        ("sam_farm", 2, "My partner Sam grew up on a sheep farm in the Brecon Beacons, so a walk in the rain is nothing to them.",
         "Farm childhoods do seem to make people weatherproof."),
        ("viola_carbon", 2, "Our principal viola just bought a brand-new carbon-fibre instrument and won't stop talking about it.",
         "Those are tough and stable - I can see the appeal."),
        ("admiral", 2, "We brought a cat home from the shelter: a one-eyed tabby called Admiral. He's already claimed the radiator.",
         "Sounds like he knows exactly what he wants. Welcome to the household!"),
        ("callum_bestman", 3, "Callum, my best mate since primary school, is getting married in Lisbon and has asked me to be his best man!",
         "What an honour - and a great excuse for a trip."),
        ("neha_wedding", 3, "My cousin Neha's wedding last weekend in Leicester was three full days of food and dancing. I'm still recovering.",
         "Three days of celebrations is a marathon - rest well earned."),
        ("heights", 4, "Took Year 8 to the cathedral and I couldn't make it up the tower. Being high up turns my legs to jelly.",
         "Nothing wrong with staying on solid ground - someone had to supervise from below."),
        ("sam_spiders", 4, "Sam found a spider the size of a coaster in the bath and made me deal with it. Fearless about everything except spiders.",
         "Everyone has their kryptonite."),
        ("cello_dropoff", 4, "Dropped the cello off at the luthier because the bridge has started to warp.",
         "Sensible to catch it early before it affects the tone."),
        ("lab_po", 5, "Finally placed the lab order - purchase order PO-58831-CHM - so we should have fresh reagents before the practicals.",
         "Good timing - practicals go much more smoothly with fresh stock."),
        ("strings_tracking", 5, "The new cello strings are stuck in a depot somewhere; tracking number JX449021GB hasn't moved in four days.",
         "Frustrating - a message to the courier might shake it loose."),
        ("sam_pottery", 5, "My partner Sam has signed up for a pottery course at the community centre, Thursday evenings.",
         "A lovely hobby - there's something satisfying about working with clay."),
        ("cello_pickup", 6, "Collected the cello from the luthier this morning. New bridge, and it sounds brighter already.",
         "Great news - enjoy getting reacquainted."),
        ("kitchen_wall", 6, "The builders knocked through the kitchen wall today. Dust everywhere, but I can already see how much lighter it'll be.",
         "The messy stage is the worst, but the extra light will be worth it."),
        ("neighbour_cat", 7, "The neighbour's ginger cat has started sleeping on the roof of our car every night.",
         "Warm car roofs are prime real estate for cats."),
        ("sam_brother_dairy", 7, "Sam's brother has taken over a dairy farm in Shropshire and sends us far too much cheese.",
         "Too much cheese is a problem many people would love to have."),
        ("admiral_coffee", 7, "Admiral knocked a full mug of coffee over my marking - thirty Year 9 exercise books with brown rings. Brilliant.",
         "Oh no. At least the kids will have a story about why their books look vintage."),
        ("trn", 8, "The exam board portal wants my teacher reference number, which is 9841276. Writing it here so I stop hunting for it.",
         "Sensible - that's one of those numbers you only need at the worst moments."),
        ("marmoset", 8, "My Year 8s have named their science fair project 'Project Marmoset'. It's about fermenting fruit and measuring the gas.",
         "Great name - and a fun experiment with visible results."),
        ("bike_stolen", 9, "Someone nicked my bike from outside the school gates. Cut straight through the lock.",
         "That's awful - worth reporting, even if the odds of getting it back are low."),
        ("stag_do", 9, "Callum's brother is organising the stag do and it's looking like Newcastle. Pray for me.",
         "Newcastle will certainly be memorable."),
        ("sam_bowl", 10, "Sam came home from Thursday's class with a lopsided teal bowl. It's now Admiral's water dish and he seems to approve.",
         "A handmade dish for a cat with taste - perfect use for it."),
        ("principal_cello", 11, "Big news from orchestra: the conductor has moved me up to principal cello, starting with the next concert!",
         "Congratulations - that's a real vote of confidence."),
        ("bus_commute", 11, "Since the bike got nicked I've been taking the bus to school, and honestly I get half my marking done on it.",
         "An unexpected upside - travel time that doubles as work time."),
        ("sam_ebike", 12, "Sam's thinking about getting an e-bike for the hills on the way to their office.",
         "Electric assistance makes hilly routes far more manageable."),
        ("cello_recital", 13, "Played a short solo at the school's charity evening. My hands were shaking but it went fine.",
         "Nerves are normal - sounds like you pulled it off."),
    ],
    "life": [
        ("Marked thirty mock papers in one sitting. Half of them forgot to balance their equations.", "Classic mock-exam pattern - at least it shows what to revise."),
        ("Parents' evening ran until nine. I've said 'needs to show more working' about forty times.", "A long evening - hope the feedback lands."),
        ("Department meeting about the new timetable went nowhere, as usual.", "Meetings that circle back on themselves are exhausting."),
        ("Spent my free period washing glassware because the technician is off.", "Thankless job, but the practicals depend on it."),
        ("Year 7s made slime this week. The lab will never be the same.", "Slime day is always chaos, but kids remember it forever."),
        ("Squeezed in half an hour of scales today.", "Regular scales really do pay off."),
        ("Lunch duty in the rain. The playground was a swamp.", "Grim - hope there was tea waiting afterwards."),
        ("Wrote a quiz on the periodic table that I'm slightly too proud of.", "Nothing wrong with enjoying your own quiz."),
        ("Got roped into running the after-school chess club this term.", "Nice - those clubs can be surprisingly popular."),
        ("A student asked if chemistry is 'just baking with danger'. Honestly, fair.", "Not a bad summary, to be fair."),
        ("Assembled a flat-pack bookshelf for the spare room; only one screw left over.", "One spare screw is practically a success."),
        ("Reports are due Friday and I've written exactly three.", "Deadline pressure - maybe batch the similar ones together."),
    ],
    "questions": [
        q("single-hop", "In which country is my oldest friend's wedding taking place?", ["callum_bestman"], "Portugal (Lisbon)"),
        q("single-hop", "Which colours do I have trouble telling apart?", ["colourblind"], "Red and green"),
        q("single-hop", "Where did my instrument come from, and roughly how old is it?", ["cello_origin"], "Second-hand from a Nottingham luthier; about ninety years old"),
        q("single-hop", "What kind of livestock was my other half raised around?", ["sam_farm"], "Sheep"),
        q("single-hop", "Why did I stay at the bottom during the school visit to the cathedral?", ["heights"], "I'm afraid of heights"),
        q("multi-hop", "What did my cat spill, and what got damaged?", ["admiral", "admiral_coffee"], "Coffee over thirty Year 9 exercise books"),
        q("multi-hop", "What did my partner make at their pottery class, and what is it used for?", ["sam_pottery", "sam_bowl"], "A lopsided teal bowl, now the cat's water dish"),
        q("temporal", "When did I get my instrument back after the repair?", ["cello_pickup"], "Date of the evidence turn"),
        q("temporal", "Did the builders open up the kitchen before or after my oldest friend asked me to stand beside him at his wedding?", ["callum_bestman", "kitchen_wall"], "After"),
        q("knowledge-update", "How do I get to work these days?", ["bus_commute"], "By bus"),
        q("knowledge-update", "Which chair do I hold in the orchestra's cello section now?", ["principal_cello"], "Principal cello"),
        q("lexical", "What was the purchase order for the chemistry reagents?", ["lab_po"], "PO-58831-CHM", token="PO-58831-CHM"),
        q("lexical", "What identifying number does the exam board portal ask me for?", ["trn"], "9841276", token="9841276"),
        q("lexical", "What is Project Marmoset about?", ["marmoset"], "Year 8 science fair project on fermenting fruit", token="Project Marmoset"),
    ],
}

INES = {
    "name": "ines", "start": "2025-08-25", "sessions": 15, "total_turns": 84,
    # Shipping logistics planner in Dublin; flatmate Roisin, running friend Farah, learns Japanese.
    "story": [
        ("rathmines", 0, "Roisin, my flatmate, and I have been in this Rathmines flat for three years now, and the landlord still hasn't fixed the shower.",
         "Three years of a dodgy shower is impressive patience."),
        ("zoom_japanese", 0, "My Japanese lessons are on Zoom on Wednesday nights after work. Hard to focus, but the tutor is lovely.",
         "Evening lessons after a full day are tough - good on you for keeping at it."),
        ("galicia", 1, "My mum's from a tiny fishing village in Galicia, and I spent every single summer there as a kid.",
         "That sounds idyllic - long summers by the sea."),
        ("roisin_andalusia", 1, "Roisin's off to Andalusia for a fortnight and keeps sending me the forecast to gloat.",
         "The gloating is half the fun of a holiday."),
        ("reefer", 1, "Most of my job is planning routes for reefer containers - chilled fruit coming up from South America.",
         "Keeping the cold chain intact over that distance must be a real puzzle."),
        ("declan_cars", 2, "My colleague Declan handles the car carriers, and he swears his ships are more stressful than mine.",
         "Sounds like a friendly rivalry."),
        ("kumano", 2, "The whole reason I'm learning Japanese is that I want to walk the Kumano Kodo pilgrimage trail one day and actually chat to people along the way.",
         "What a lovely goal - even a little of the language will make that trip richer."),
        ("roisin_italian", 3, "Roisin is doing Italian on an app because she's booked a trip to Sicily. We have competing streaks now.",
         "Friendly competition is a great motivator."),
        ("cian_chef", 3, "Roisin's boyfriend Cian is a chef, so any dinner at ours is now held to a very high bar.",
         "Living near a professional cook has its perks - and its pressures."),
        ("lemon_curd", 3, "Roisin and I call our monthly fridge clear-out 'Operation Lemon Curd', after the jar that survived two years at the back.",
         "Every shared fridge needs a legendary jar."),
        ("farah", 4, "Farah from the running club is going to be my pacing partner for the half marathon. She's much faster, so I'll be hanging on.",
         "A quicker partner is great for pulling you along."),
        ("tattoo", 4, "People always ask about the compass tattoo on my left wrist. I got it in Lisbon when I was nineteen.",
         "A fitting symbol for someone who spends her days around ships."),
        ("roisin_tattoo", 5, "Roisin's booked in for a swallow tattoo on her ankle. I'm going along for moral support.",
         "Good friend - the first one is always nerve-racking."),
        ("ferry_ref", 5, "Booked the ferry to Holyhead for the trip to see my cousin in Wales. Booking reference FRY-88K2Q.",
         "Great - keep that handy for check-in."),
        ("hotel_ref", 5, "And the hotel in Liverpool for the second leg: confirmation number 55120934.",
         "All sorted then - sounds like a nice little tour."),
        ("container_missing", 6, "Spent all day chasing container TRLU4471203, which simply vanished off the system in Valencia.",
         "Hopefully it's just a data glitch rather than a genuinely lost box."),
        ("long_run", 6, "Did a 16k long run this morning, the longest before race day. Legs are heavy but I'm happy.",
         "Big milestone - the taper should feel great after that."),
        ("farah_injury", 7, "Farah pulled her hamstring on hill repeats, so she's out for three weeks and gutted about it.",
         "Those are slow to heal - she's right to rest it properly."),
        ("declan_wife", 7, "Declan's wife has opened a little bakery in Howth. I may have bought four cinnamon buns.",
         "Four is a perfectly reasonable number of cinnamon buns."),
        ("half_done", 8, "I did it! Finished the half marathon in 1:52:40 and my legs are jelly.",
         "Amazing - congratulations on crossing that line!"),
        ("exam_sat", 9, "Sat my first Japanese proficiency exam today. The listening section was brutal.",
         "Well done for getting through it - now the waiting game."),
        ("cian_ramen", 9, "Cian is opening his own ramen bar on Capel Street, and Roisin's designing the menus.",
         "Exciting - a new noodle spot is always welcome."),
        ("phibsborough", 10, "Keys collected! I'm officially living on my own in a one-bed in Phibsborough.",
         "Congratulations on your own place - enjoy the first quiet night."),
        ("saturday_class", 11, "I've switched to in-person Japanese classes on Saturday mornings at the cultural centre. So much better than screens.",
         "Face-to-face practice really helps with speaking confidence."),
        ("noswim", 11, "Confession: I never learned to swim, which is a bit ironic for someone who works in shipping.",
         "More common than people think - and it's never too late to learn."),
        ("jlpt", 12, "Results are in - I passed the N5, my first Japanese proficiency exam!",
         "Congratulations! That's a solid foundation to build on."),
        ("sea_swim", 12, "Farah's trying to get me to join her winter sea dips at the Forty Foot. Absolutely not.",
         "Cold-water dips are definitely not for everyone."),
        ("new_container", 13, "Another day, another lost container - this one turned up in Antwerp, thank goodness.",
         "Happy endings in logistics deserve celebrating."),
        ("roisin_visit", 13, "Roisin came over to see the new place and immediately rearranged my bookshelf.",
         "Some friends just can't help themselves."),
    ],
    "life": [
        ("Inbox hit 200 unread today. Shipping never sleeps.", "That's a lot - maybe triage by sender first."),
        ("Port congestion meant rescheduling half my week in one afternoon.", "Reshuffling at short notice is a skill in itself."),
        ("Team quiz night at work; we came second because nobody knew any capital cities.", "Second is respectable - geography rounds are brutal."),
        ("Easy recovery jog along the canal earlier, nothing fancy.", "Easy runs are where the base gets built."),
        ("Bought new running socks. Apparently this is what excitement looks like now.", "Good socks are a legitimate joy."),
        ("Spreadsheet crashed and took an hour of work with it.", "Painful - the autosave settings might be worth a look."),
        ("Long video call with Mum yesterday; she mostly wanted to talk about her tomatoes.", "Gardening updates from parents are a universal experience."),
        ("Practised writing hiragana while waiting for a call to connect.", "Using spare minutes like that adds up fast."),
        ("Whole afternoon of vessel delay notices. My coffee went cold three times.", "Sounds like a relentless afternoon."),
        ("Tried a new podcast on the commute; it's about the history of maps.", "Maps have surprisingly dramatic histories."),
        ("Went to a friend's birthday drinks and left at a respectable ten o'clock.", "A sensible exit is a victory."),
        ("Booked a haircut for the first time in four months.", "Overdue treats are the best kind."),
        ("Did forty new vocabulary flashcards on the bus today.", "Little and often is the way to make words stick."),
    ],
    "questions": [
        q("single-hop", "Which part of Spain did I spend my childhood holidays in?", ["galicia"], "Galicia"),
        q("single-hop", "What's the motivation behind my language studies?", ["kumano"], "To walk the Kumano Kodo trail and talk to people there"),
        q("single-hop", "What sort of cargo do I mainly organise shipments for?", ["reefer"], "Refrigerated fruit in reefer containers"),
        q("single-hop", "What design is inked on my arm, and where was it done?", ["tattoo"], "A compass, done in Lisbon"),
        q("single-hop", "Which basic water skill have I never picked up?", ["noswim"], "Swimming"),
        q("multi-hop", "What injury did my half-marathon pacing partner pick up?", ["farah", "farah_injury"], "A pulled hamstring"),
        q("multi-hop", "What kind of food place is Roisin's partner launching, and on which street?", ["cian_chef", "cian_ramen"], "A ramen bar on Capel Street"),
        q("temporal", "When did I complete my first 21k race?", ["half_done"], "Date of the evidence turn"),
        q("temporal", "When did I find out I'd passed my first Japanese test?", ["jlpt"], "Date of the evidence turn"),
        q("knowledge-update", "Which Dublin neighbourhood do I live in now?", ["phibsborough"], "Phibsborough"),
        q("knowledge-update", "When and how do I take my Japanese lessons these days?", ["saturday_class"], "In person on Saturday mornings at the cultural centre"),
        q("lexical", "What's the booking reference for my sea crossing to Wales?", ["ferry_ref"], "FRY-88K2Q", token="FRY-88K2Q"),
        q("lexical", "What was the ID of the box that disappeared from the system in Spain?", ["container_missing"], "TRLU4471203", token="TRLU4471203"),
        q("lexical", "What is 'Operation Lemon Curd'?", ["lemon_curd"], "The monthly fridge clear-out with Roisin", token="Operation Lemon Curd"),
    ],
}

THEO = {
    "name": "theo", "start": "2025-09-08", "sessions": 14, "total_turns": 78,
    # Retired postman in a Yorkshire village; wife Margaret, friend Dennis, allotment, chess, caravan.
    "story": [
        ("postman_years", 0, "I carried the post round the same three villages for thirty-four years before I retired. Knew every dog by name.",
         "That's a remarkable stretch - you must have been part of the furniture."),
        ("dennis_milkman", 0, "My pal Dennis was the milkman round here for twenty years, so between us we knew everyone's business.",
         "The two of you must have been the best-informed men in the village."),
        ("chess_thursday", 0, "Chess club is Thursday evenings at the village hall. Cheap tea and fierce competition.",
         "Sounds like the perfect combination."),
        ("volvo", 1, "The old Volvo estate wouldn't start again this morning. Twenty years old and stubborn as a mule, just like me.",
         "Old cars do have personalities - the battery might need a look."),
        ("medlar", 1, "My favourite thing on the allotment is the old medlar tree my dad planted when I was a boy. Still fruiting.",
         "What a wonderful living link to him."),
        ("dennis_fig", 2, "Dennis has a fig tree trained against his shed wall and he's unbearable about it.",
         "A warm wall can work wonders - no wonder he's proud."),
        ("clement", 2, "My great rival at chess club is Clement, a retired vicar who plays like the devil himself.",
         "A man of the cloth with a ruthless streak makes a formidable opponent."),
        ("wedding", 2, "Margaret and I were married in 1979 at a little chapel on Anglesey. Rained all day and we didn't care.",
         "Rain on the big day is supposed to be lucky - sounds like it worked."),
        ("caravan_bluebell", 3, "I've bought a 1972 touring caravan to do up. The grandkids have already named her Bluebell.",
         "A lovely project - and a perfect name."),
        ("gareth_wedding", 3, "Our son Gareth's wedding was in a barn near Harrogate. Best ceilidh I've ever been to.",
         "A barn do with a ceilidh is hard to beat."),
        ("knee_side", 4, "Pre-op appointment today. They've confirmed it's the left knee being replaced - the right one's hanging on for now.",
         "Good that it's all confirmed; the pre-op is half the battle."),
        ("dennis_hip", 4, "Dennis had his hip done last year and he's been giving me unsolicited advice all week.",
         "Advice from someone who's been through it can be useful, even unasked."),
        ("poppy_durham", 5, "Our granddaughter Poppy has just started at Durham University, reading geology. Rocks, she says, are never boring.",
         "Wonderful - and what a beautiful city to study in."),
        ("alfie_football", 5, "Grandson Alfie says he's going to play for England. He's eight, so we'll see.",
         "Big dreams at eight are exactly right."),
        ("padlock", 6, "The allotment committee changed the gate padlock. New combination is 3096.",
         "Best to make a note at home too, in case it slips your mind."),
        ("knee_home", 6, "Home from hospital with the new knee. Physio starts Monday and Margaret is already strict about the exercises.",
         "Welcome home - a strict supervisor is probably exactly what you need."),
        ("chassis", 7, "Insurance company wanted the caravan's chassis number: CV72-00419-Y. Took me ages to find the plate under the A-frame.",
         "Those plates are always hidden somewhere awkward."),
        ("dennis_grandson", 7, "Dennis's grandson is off to York to study law. Dennis says there'll finally be someone to argue with him.",
         "Sounds like Dennis is looking forward to a worthy opponent."),
        ("onion_prize", 8, "First prize for my onions at the village show today! The biggest weighed 3.2 kilos.",
         "Congratulations - that's a seriously impressive onion."),
        ("dennis_marrow", 9, "Dennis keeps reminding everyone he won best marrow at last year's show.",
         "Some victories get retold for a long time."),
        ("chess_move", 9, "The chess club's moved to Monday nights, in the back room of the Fox and Hounds. The hall's being re-roofed.",
         "A pub back room sounds like a cosy home for it."),
        ("clement_final", 10, "Finally beat Clement in the club final - four hours, and I won it with a knight fork at the end!",
         "Four hours and a knight fork - what a way to finish."),
        ("hebble", 10, "The lads at chess have started calling my favourite opening 'the Hebble Gambit', after the brook at the bottom of my garden. It's mostly pushing the h-pawn and hoping.",
         "Having an opening named after your corner of the world is an honour, even a cheeky one."),
        ("bluebell_roof", 11, "Bluebell's got a brand-new roof seal and she passed the damp test with flying colours.",
         "Brilliant - that test is the big one with old vans."),
        ("ev_car", 11, "Sold the Volvo and bought a little electric hatchback. Gareth talked me into it and I'm secretly enjoying it.",
         "Quiet and cheap to run - good choice."),
        ("whitby_trip", 12, "Took Bluebell on her maiden trip to Whitby. Fish and chips on the harbour wall, and the knee held up fine.",
         "A perfect first outing - what a grand spot for it."),
        ("dennis_campervan", 13, "Dennis has bought himself a campervan and thinks he's a rival to Bluebell now. He isn't.",
         "There's always room on the road for a bit of friendly rivalry."),
    ],
    "life": [
        ("Pottered about on the allotment earlier, mostly weeding and chatting.", "The chatting is half the point of an allotment."),
        ("Margaret's made me promise to clear out the garage this month. We'll see.", "Garages have a way of resisting all attempts."),
        ("Did the crossword with my morning tea. Stuck on one clue for an hour.", "Those stubborn clues are half the fun."),
        ("The grandkids came round for tea and ate everything in sight.", "Sounds like a successful visit."),
        ("Fixed the wobbly front gate; only took three trips to the hardware shop.", "Three trips is standard for any DIY job."),
        ("Walked down to the village shop for a paper and ended up chatting for an hour.", "That's the best part of village life."),
        ("Listened to the football on the radio all afternoon.", "A fine way to spend an afternoon."),
        ("Found a box of old photos in the loft. Margaret and I sorted through them till midnight.", "Old photos are a lovely rabbit hole."),
        ("Sharpened all my garden tools, very satisfying.", "Sharp tools make everything easier."),
        ("Gave a talk at the library about how the villages have changed. Twelve people came!", "Twelve is a very respectable turnout."),
        ("Went to the barber; he talked about his holiday for the entire haircut.", "Barbers are great storytellers."),
        ("The birds have been at the feeder all day - saw a nuthatch!", "Nuthatches are a lovely sight."),
        ("Wrote a letter to my sister in Canada. Proper pen and paper.", "A handwritten letter is a real treat to receive."),
    ],
    "questions": [
        q("single-hop", "How many years did I spend as a postie?", ["postman_years"], "Thirty-four"),
        q("single-hop", "Which subject did my grandchild go off to study?", ["poppy_durham"], "Geology (at Durham)"),
        q("single-hop", "Where did my wife and I tie the knot?", ["wedding"], "A little chapel on Anglesey"),
        q("single-hop", "Which leg got the joint replacement?", ["knee_side"], "The left knee"),
        q("single-hop", "What grows on my allotment that my father put in the ground decades ago?", ["medlar"], "A medlar tree"),
        q("multi-hop", "What work has just been done on the vintage caravan I'm restoring?", ["caravan_bluebell", "bluebell_roof"], "New roof seal; passed the damp test"),
        q("multi-hop", "How did my big match against the retired clergyman end?", ["clement", "clement_final"], "I won the club final with a knight fork after four hours"),
        q("temporal", "When did I win the local produce competition?", ["onion_prize"], "Date of the evidence turn"),
        q("temporal", "Which came first: my knee surgery or the caravan's first holiday on the coast?", ["knee_home", "whitby_trip"], "The knee surgery"),
        q("knowledge-update", "Where and when does my chess club meet these days?", ["chess_move"], "Monday nights, back room of the Fox and Hounds"),
        q("knowledge-update", "What car am I driving now?", ["ev_car"], "A small electric hatchback"),
        q("lexical", "What's the combination for the gate at my vegetable plot?", ["padlock"], "3096", token="3096"),
        q("lexical", "What identification number did the insurers need for the caravan?", ["chassis"], "CV72-00419-Y", token="CV72-00419-Y"),
        q("lexical", "What is 'the Hebble Gambit'?", ["hebble"], "My chess opening: pushing the h-pawn and hoping", token="Hebble Gambit"),
    ],
}

CONVERSATIONS = [MAYA, ARJUN, INES, THEO]

# Generic small talk: topic -> (templates, slot values). Templates with {x} are
# used at most twice per conversation, each time with a different slot value.
# Dishes are all meat- and fish-free so they never interfere with diet facts.
GENERIC_FILLERS = {
    "weather": ([
        ("It's been {x} all day, so I've stayed in with a pot of tea.", "Sounds like the right call - a quiet day indoors does wonders."),
        ("It's properly {x} out there today, which matches my mood perfectly.", "Some days the weather just gets it."),
        ("The forecast says {x} for the whole weekend. So much for plans.", "Could be a good weekend for indoor projects instead."),
        ("Another {x} day. I'm starting to forget what the sun looks like.", "It'll come back eventually - a bright lamp helps in the meantime."),
        ("Walked home through {x} weather and now I'm thawing out on the sofa.", "Nothing beats getting warm again after that."),
    ], ["drizzly", "grey and blustery", "foggy", "damp and miserable", "stormy", "wet and windy"]),
    "shows": ([
        ("Watched two more episodes of {x} last night. The plot is getting silly but I'm hooked.", "The silly stretch is often when a series gets fun."),
        ("A friend keeps telling me to watch {x}. Is it worth the hype?", "Try the first couple of episodes and see if it grabs you."),
        ("{x} has the best soundtrack of anything I've watched this year.", "A great soundtrack can carry a whole series."),
        ("Fell asleep halfway through {x} again, so I'll have to rewind.", "Sounds like you needed the sleep more than the episode."),
        ("The cliffhanger at the end of this week's {x} was just cruel.", "They're designed to hurt - the wait is part of it."),
    ], ["The Quiet Harbour", "Glasshouse", "Nine Lanterns", "Salt and Static", "Copperfield Lane", "Northbound", "The Lodger's Ledger"]),
    "cooking": ([
        ("Made {x} for dinner and there's enough left over for days.", "Batch cooking for the win - future you will be grateful."),
        ("Tried a new recipe for {x} and it came out better than expected.", "Love it when an experiment pays off."),
        ("Too tired to cook properly, so it's {x} from the freezer tonight.", "Freezer meals are a lifesaver on days like this."),
        ("Burnt the bottom of the pan making {x}. Still ate it.", "A little char never hurt anyone."),
        ("Having {x} tonight; it's the only thing I can be bothered to make.", "Simple comfort food is exactly right sometimes."),
    ], ["lentil soup", "mushroom risotto", "veggie chilli", "potato and leek soup", "spinach dal", "a tomato pasta bake", "a butter bean stew"]),
    "errands": ([
        ("Spent half the day on errands, mostly {x}, and I'm already knackered.", "Errand days are sneakily exhausting."),
        ("Finally got round to {x}. It's been on my list for weeks.", "Satisfying to tick that off at last."),
        ("Tomorrow's job is {x}, no excuses this time.", "Hopefully it's a quick one."),
        ("Queued for twenty minutes just for {x}. Everyone in town had the same idea.", "Busy spells are the worst for quick jobs."),
        ("Completely forgot about {x} again, so that's tomorrow sorted.", "It'll still be there tomorrow, unfortunately."),
    ], ["returning a parcel", "renewing my library card", "buying new light bulbs", "getting a spare key cut", "dropping old clothes at the charity shop", "taking the recycling to the tip"]),
    "reading": ([
        ("Halfway through {x} and I can't put it down.", "Sounds gripping - no spoilers from me."),
        ("Gave up on {x}; the middle dragged far too much.", "Life's too short for books that don't hold you."),
        ("Picked up {x} from the library on a whim.", "Whim picks are often the best ones."),
        ("Stayed up way too late reading {x}. Worth it.", "The best books are the ones that steal sleep."),
        ("The ending of {x} has left me a bit stunned.", "A good ending lingers for days."),
    ], ["The Salt Orchard", "A Map of Small Hours", "Winter at Fenwick Hall", "The Clockmaker's Apprentice", "Letters from the Marsh", "The Long Field"]),
    "home": ([
        ("The {x} is making a strange noise again. I'm choosing to ignore it.", "Ignoring it works right up until it doesn't."),
        ("Spent an hour trying to fix the {x} with a video tutorial. Partial success.", "Partial success still counts."),
        ("Finally called someone out to look at the {x}.", "Sometimes it's worth handing it to a professional."),
        ("Had a proper deep clean of the house and found three missing socks.", "The great sock mystery, partly solved."),
        ("Rearranged the living room furniture on a whim. It feels like a new place.", "A quick shuffle can make a room feel fresh."),
    ], ["washing machine", "boiler", "fridge", "smoke alarm", "kitchen tap", "extractor fan"]),
}


def generic_fillers(rng, needed):
    """Pick ``needed`` distinct generic small-talk turns."""
    pool = []
    for templates, slots in GENERIC_FILLERS.values():
        for user, assistant in templates:
            if "{x}" in user:
                pool.extend((user.format(x=v), assistant) for v in rng.sample(slots, 2))
            else:
                pool.append((user, assistant))
    if needed > len(pool):
        raise SystemExit(f"need {needed} generic fillers but only {len(pool)} exist")
    rng.shuffle(pool)
    return pool[:needed]


def session_sizes(rng, story_counts, total):
    """Random session sizes (3..8 turns) that hold the story turns and sum to total."""
    sizes = [max(3, count, rng.randint(4, 7)) for count in story_counts]
    while sum(sizes) < total:
        i = rng.randrange(len(sizes))
        if sizes[i] < 8:
            sizes[i] += 1
    while sum(sizes) > total:
        i = rng.randrange(len(sizes))
        if sizes[i] > max(3, story_counts[i]):
            sizes[i] -= 1
    return sizes


def build_conversation(spec, rng):
    """Lay out one conversation; returns (turn records, question records)."""
    name = spec["name"]
    sessions = [[] for _ in range(spec["sessions"])]
    for key, session, user, assistant in spec["story"]:
        sessions[session].append((key, user, assistant))

    sizes = session_sizes(rng, [len(s) for s in sessions], spec["total_turns"])
    n_generic = spec["total_turns"] - len(spec["story"]) - len(spec["life"])
    fillers = list(spec["life"]) + generic_fillers(rng, n_generic)
    rng.shuffle(fillers)
    filler_iter = iter(fillers)
    for turns, size in zip(sessions, sizes):
        while len(turns) < size:  # random insertion keeps story turns in order
            user, assistant = next(filler_iter)
            turns.insert(rng.randint(0, len(turns)), (None, user, assistant))

    records, key_to_id = [], {}
    day = datetime.strptime(spec["start"], "%Y-%m-%d").replace(tzinfo=timezone.utc)
    for s_index, turns in enumerate(sessions):
        if s_index:
            day += timedelta(days=rng.randint(9, 17))
        clock = day + timedelta(hours=rng.randint(12, 20), minutes=rng.randrange(0, 60, 5))
        for key, user, assistant in turns:
            turn_id = f"{name}-{len(records) + 1:03d}"
            if key:
                key_to_id[key] = turn_id
            records.append({
                "type": "turn", "conversation": name, "id": turn_id,
                "session": f"s{s_index + 1:02d}",
                "occurred_at": clock.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "messages": [{"role": "user", "content": user},
                             {"role": "assistant", "content": assistant}],
            })
            clock += timedelta(minutes=rng.randint(2, 9))

    questions = []
    for n, spec_q in enumerate(spec["questions"], start=1):
        questions.append({
            "type": "question", "conversation": name, "id": f"{name}-q{n:02d}",
            "category": spec_q["category"], "question": spec_q["question"],
            "evidence": [key_to_id[k] for k in spec_q["evidence"]],
        })
    return records, questions


def self_check(lines):
    """Validate the written file; returns a list of error strings."""
    errors = []
    records = [json.loads(line) for line in lines]
    turns = [r for r in records if r["type"] == "turn"]
    questions = [r for r in records if r["type"] == "question"]
    by_id = {t["id"]: t for t in turns}
    tokens = {f"{c['name']}-q{n:02d}": qs["token"] for c in CONVERSATIONS
              for n, qs in enumerate(c["questions"], start=1)}
    stamp = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

    if any(next(iter(r)) != "type" for r in records):
        errors.append('"type" is not the first field on every line')
    if len(turns) + len(questions) != len(records):
        errors.append("unknown record type")
    if records and records[len(turns) - 1]["type"] != "turn":
        errors.append("question lines must come after all turn lines")
    all_ids = [r["id"] for r in records]
    if len(set(all_ids)) != len(all_ids):
        errors.append("ids are not unique")

    last_time, seen_sessions = {}, {}
    for t in turns:
        conv = t["conversation"]
        if not stamp.match(t["occurred_at"]):
            errors.append(f"{t['id']}: bad timestamp {t['occurred_at']}")
            continue
        when = datetime.strptime(t["occurred_at"], "%Y-%m-%dT%H:%M:%SZ")
        if conv in last_time and when <= last_time[conv]:
            errors.append(f"{t['id']}: not after previous turn")
        last_time[conv] = when
        sessions = seen_sessions.setdefault(conv, [])
        if not sessions or sessions[-1][0] != t["session"]:
            if any(s == t["session"] for s, _ in sessions):
                errors.append(f"{t['id']}: session {t['session']} is not contiguous")
            sessions.append([t["session"], 0])
        sessions[-1][1] += 1
    for conv, sessions in seen_sessions.items():
        if any(count < 3 for _, count in sessions):
            errors.append(f"{conv}: a session has fewer than 3 turns")

    for qn in questions:
        ev = qn["evidence"]
        if qn["category"] not in CATEGORIES:
            errors.append(f"{qn['id']}: unknown category")
        if not ev or any(e not in by_id for e in ev):
            errors.append(f"{qn['id']}: evidence missing")
            continue
        if any(by_id[e]["conversation"] != qn["conversation"] for e in ev):
            errors.append(f"{qn['id']}: evidence from another conversation")
        if [by_id[e]["occurred_at"] for e in ev] != sorted(by_id[e]["occurred_at"] for e in ev):
            errors.append(f"{qn['id']}: evidence not listed chronologically")
        if qn["category"] == "multi-hop" and len(ev) < 2:
            errors.append(f"{qn['id']}: multi-hop needs 2+ evidence turns")
        if qn["category"] in ("single-hop", "knowledge-update", "lexical") and len(ev) != 1:
            errors.append(f"{qn['id']}: expected exactly one evidence turn")
        token = tokens.get(qn["id"])
        if qn["category"] == "lexical":
            holders = {t["id"] for t in turns if t["conversation"] == qn["conversation"]
                       and token and token.lower() in json.dumps(t["messages"]).lower()}
            if holders != set(ev):
                errors.append(f"{qn['id']}: token {token!r} found in {sorted(holders)}")
    return errors


def main():
    rng = random.Random(SEED)
    turns, questions = [], []
    for spec in CONVERSATIONS:
        conv_turns, conv_questions = build_conversation(spec, rng)
        turns += conv_turns
        questions += conv_questions

    OUT_PATH.parent.mkdir(parents=True, exist_ok=True)
    with OUT_PATH.open("w", encoding="utf-8") as out:
        for record in turns + questions:
            out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")

    lines = OUT_PATH.read_text(encoding="utf-8").splitlines()
    errors = self_check(lines)
    for error in errors:
        print("SELF-CHECK ERROR:", error, file=sys.stderr)
    if errors:
        sys.exit(1)

    by_id = {t["id"]: t for t in turns}
    print(f"wrote {OUT_PATH} ({len(lines)} lines: {len(turns)} turns, {len(questions)} questions)")
    for spec in CONVERSATIONS:
        conv = [t for t in turns if t["conversation"] == spec["name"]]
        print(f"  {spec['name']:6s} {len(conv):3d} turns, {len({t['session'] for t in conv})} sessions, "
              f"{conv[0]['occurred_at'][:10]} .. {conv[-1]['occurred_at'][:10]}")
    for category, count in sorted(Counter(qn["category"] for qn in questions).items()):
        print(f"  {category:17s} {count:3d} questions")
    print("self-check: OK")
    if "--examples" in sys.argv:
        for qid in ("maya-q06", "ines-q10", "theo-q13"):
            qn = next(x for x in questions if x["id"] == qid)
            print("\n" + json.dumps(qn, ensure_ascii=False, separators=(",", ":")))
            for e in qn["evidence"]:
                t = by_id[e]
                print(f"  {e} @ {t['occurred_at']}: {t['messages'][0]['content']}")


if __name__ == "__main__":
    main()
