"""Scoring benchmark: transcripts scored per second with WER and CER, and the other scorers' rates.

    .venv/bin/python bench/scoring.py [--pairs 5000] [--normaliser whisper-english-v1] [--repeat 3]

The transcripts: --pairs generated English reference sentences (8 to 30 words from a 300-word list,
punctuation and capitals, one in five with a spoken number such as "twenty five" or "1,200"), each
with a hypothesis made from it by substituting, deleting and inserting words (0 to 20% of them) and
changing case and punctuation. Every pair is different, so the normaliser's memo (8,192 texts) helps
only as it does in an evaluation: WER and CER of one output normalise the same two texts.

Rates are per second of this process's CPU time (time.process_time), so other work on a shared machine
does not count against them; the WER rounds also print the wall-clock rate. What is measured, in one
process on one core, best of --repeat rounds (each round on fresh texts, so no memo
carries over): one transcript = the WER scorer and the CER scorer on one pair (normalising both
texts, aligning, counting, and the WER alignment for the view), as an evaluation's re-score does it
through registry.make_scorer. Then the other scorers on 5,000 outputs each, as outputs per second.
Target (issue 11): WER scoring >= 5,000 transcripts a second.

Its last line, for scripts: RESULT wer_per_s=N exact_per_s=N ... (one per scorer).
"""

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playground.scoring.registry import make_scorer

TARGET_WER_PER_S = 5_000
WORDS = (
    "the a an and of to in is was it for on that with as at by this from be are or have had not but what all were "
    "when we there can your which their said if do will each about how up out them then she many some so these "
    "would other into has more her two like him see time could no make than first been its who now people my made "
    "over did down only way find use may water long little very after words called just where most know get "
    "through back much before go good new write our used me man too any day same right look think also around "
    "another came come work three word must because does part even place well such here take why help put "
    "different away again off went old number great tell men say small every found still between name should "
    "home big give air line set own under read last never us left end along while might next sound below saw "
    "something thought both few those always show large often together asked house don't world going want school "
    "important until form food keep children feet land side without boy once animal life enough took four head "
    "above kind began almost live page got earth need far hand high year mother light country father let night "
    "picture being study second soon story since white ever paper hard near sentence better best across during "
    "today however sure knew it's try told young sun thing whole hear example heard several change answer room "
    "sea against top turned learn point city play toward five himself usually money seen didn't car morning i'm "
    "body upon family later turn move face door cut done group true leave colour favourite centre mr dr st"
).split()
NUMBERS = ["twenty five", "1,200", "three hundred", "$4.50", "forty two", "10%", "1st", "the 1960s", "seven"]


def make_pair(rng: random.Random) -> tuple[str, str]:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 30))]
    if rng.random() < 0.2:
        words.insert(rng.randrange(len(words)), rng.choice(NUMBERS))
    ref = " ".join(words).capitalize() + rng.choice([".", "!", "?", "."])
    hyp_words, rate = [], rng.uniform(0, 0.2)
    for w in words:
        r = rng.random()
        if r < rate / 3:
            hyp_words.append(rng.choice(WORDS))  # substitution
        elif r < 2 * rate / 3:
            continue  # deletion
        else:
            hyp_words.append(w)
        if rng.random() < rate / 3:
            hyp_words.append(rng.choice(WORDS))  # insertion
    hyp = " ".join(hyp_words)
    hyp = hyp.upper() if rng.random() < 0.1 else hyp.capitalize()
    return ref, hyp.replace(" and ", ", and ") + rng.choice(["", ".", "..."])


def rate(fn, items) -> float:
    start = time.process_time()
    for output, expected in items:
        fn(output, expected)
    return len(items) / (time.process_time() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=5_000)
    parser.add_argument("--normaliser", default="whisper-english-v1")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    wer = make_scorer("wer", {"normaliser": args.normaliser})
    cer = make_scorer("cer", {"normaliser": args.normaliser})
    wer("warm up", "warm up")  # loads jiwer and the normaliser's tables once, as a worker would
    best = best_wall = 0.0
    for round_ in range(args.repeat):
        rng = random.Random(1000 + round_)
        pairs = [make_pair(rng) for _ in range(args.pairs)]
        start, cpu = time.perf_counter(), time.process_time()
        for ref, hyp in pairs:
            wer(hyp, ref)
            cer(hyp, ref)
        per_s = len(pairs) / (time.process_time() - cpu)
        wall = len(pairs) / (time.perf_counter() - start)
        best, best_wall = max(best, per_s), max(best_wall, wall)
        print(f"round {round_ + 1}: {len(pairs):,} transcripts (WER + CER, {args.normaliser}) at {per_s:,.0f} per "
              f"CPU second ({wall:,.0f}/s of wall time)")
    rates = {"wer_per_s": best, "wer_wall_per_s": best_wall}

    rng = random.Random(7)
    labels = {"cat": ["kitten", "feline"], "dog": ["puppy"], "bird": [], "red car": [], "car": ["automobile"]}
    animals = ["a cat", "It is a kitten.", "a puppy, I think", "a red car", "a bird or a cat", "nothing"]
    outputs = [(rng.choice(animals) + " " + " ".join(rng.choice(WORDS) for _ in range(12)), rng.choice(list(labels)))
               for _ in range(5_000)]
    numbers = [(f"The total is {rng.uniform(-1e4, 1e4):,.2f} dollars.", f"{rng.uniform(-1e4, 1e4):.2f}")
               for _ in range(5_000)]
    json_outputs = [("Here it is:\n```json\n" + json.dumps({"label": rng.choice(list(labels)), "count": rng.randint(0, 9),
                     "box": [rng.random() for _ in range(4)]}) + "\n```", {"label": "cat", "count": 3})
                    for _ in range(5_000)]
    schema = {"type": "object", "required": ["label", "count"],
              "properties": {"label": {"enum": list(labels)}, "count": {"type": "integer", "minimum": 0}}}
    others = {
        "exact": (make_scorer("exact", {}), outputs),
        "contains": (make_scorer("contains", {"whole_word": True}), outputs),
        "regex": (make_scorer("regex", {"pattern": r"\b(cat|kitten)s?\b", "ignore_case": True}), outputs),
        "label": (make_scorer("label", {"labels": labels}), outputs),
        "number": (make_scorer("number", {"rel_tolerance": 0.01}), numbers),
        "json_schema": (make_scorer("json_schema", {"schema": schema}), json_outputs),
        "json_fields": (make_scorer("json_fields", {}), json_outputs),
    }
    for name, (fn, items) in others.items():
        rates[f"{name}_per_s"] = rate(fn, items)
        print(f"{name:12} {rates[f'{name}_per_s']:>10,.0f} outputs per CPU second "
              f"({rates[f'{name}_per_s'] / best:.1f}x WER+CER)")

    ok = best >= TARGET_WER_PER_S
    print(f"WER + CER: {best:,.0f} transcripts per CPU second, target {TARGET_WER_PER_S:,}: {'met' if ok else 'NOT met'}")
    print("RESULT " + " ".join(f"{k}={v:.0f}" for k, v in rates.items()))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
