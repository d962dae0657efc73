"""Subjects and categories: a project's threads clustered by meaning (their subject vectors,
insights.subject_embed), each cluster named with c-TF-IDF keywords from its own questions,
names kept stable as threads arrive.

New threads go to the nearest subject centroid (`SubjectIndex.nearest`); `recluster` clusters
everything again and maps old subjects onto new clusters by shared members, so a subject keeps
its id and name across re-clusterings. A category groups nearby subjects.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from threadline.insights.embed import Vectors, normalise
from threadline.insights.labels.language import message_language

# Cosine to a subject's centroid below which a new thread waits for the next clustering.
ASSIGN_MIN = 0.3
# Mean cosine distance (0-2, on vectors centred on the project's mean) between two clusters'
# members above which they stay apart: average linkage. Tuned on the evaluation set's dev split
# (bench/subjects_eval.py): 0.80-0.88 give dev pairwise F1 0.73-0.79, 0.82 the best. Unlike a
# Ward distance, it does not depend on how many threads a project has.
MERGE_DISTANCE = 0.82
# Agglomerative clustering is O(n^2) in memory: cluster a sample, assign the rest to the
# nearest centroid.
MAX_CLUSTERED = 3_000
UNSORTED = "other"

# Words that say nothing about a subject, in the languages the segmenter knows.
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "then",
        "so",
        "to",
        "of",
        "in",
        "on",
        "at",
        "for",
        "with",
        "from",
        "by",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "i",
        "me",
        "my",
        "we",
        "our",
        "you",
        "your",
        "he",
        "she",
        "they",
        "them",
        "how",
        "what",
        "why",
        "when",
        "where",
        "which",
        "who",
        "can",
        "could",
        "would",
        "should",
        "do",
        "does",
        "did",
        "doing",
        "done",
        "have",
        "has",
        "had",
        "not",
        "no",
        "yes",
        "please",
        "thanks",
        "thank",
        "hi",
        "hello",
        "get",
        "use",
        "using",
        "there",
        "here",
        "about",
        "into",
        "out",
        "up",
        "down",
        "just",
        "also",
        "any",
        "some",
        "all",
        "more",
        "will",
        "want",
        "need",
        "like",
        "way",
        "work",
        "working",
        "make",
        "there",
        "than",
        "too",
        "very",
        "get",
        "got",
        "one",
        "two",
        "der",
        "die",
        "das",
        "und",
        "oder",
        "ist",
        "ein",
        "eine",
        "wie",
        "was",
        "ich",
        "mit",
        "für",
        "auf",
        "nicht",
        "zu",
        "den",
        "dem",
        "des",
        "es",
        "sie",
        "wir",
        "le",
        "la",
        "les",
        "et",
        "ou",
        "est",
        "un",
        "une",
        "comment",
        "que",
        "qui",
        "pour",
        "avec",
        "dans",
        "pas",
        "je",
        "vous",
        "nous",
        "ce",
        "de",
        "du",
        "des",
        "el",
        "los",
        "las",
        "y",
        "o",
        "es",
        "uno",
        "una",
        "como",
        "qué",
        "que",
        "para",
        "con",
        "en",
        "no",
        "yo",
        "por",
        "del",
        "se",
        "mi",
        "o",
        "os",
        "as",
        "um",
        "uma",
        "como",
        "para",
        "com",
        "em",
        "não",
        "eu",
        "que",
        "do",
        "da",
    ]
)
# More function words and stock verbs of the languages the labellers know, which named
# non-English clusters "wird immer" or "toutes données".
STOP_WORDS = STOP_WORDS | frozenset(
    # A word list reads best as text here (ruff's SIM905 would make it 190 quoted items).
    """
    über bei nach von vom zum zur im am ins aus wird werden wurde kann können muss mein meine
    meinen meinem mir mich dich sich immer noch schon nur auch sehr bitte danke warum wann wo
    welche welcher gibt geht habe hat hatte sind war einen einem einer kein keine
    au aux sur par mon ma mes ton ta vos votre nos notre leur leurs tout tous toute toutes
    peut peux puis-je faire fait être avoir ai il elle ils sont quand pourquoi où quel quelle
    est-ce ne plus très merci depuis
    al lo las les mis tu su sus mi puedo puede hacer hago tengo tiene está están estoy cuando
    dónde cómo cuál cuáles porque muy gracias ya sobre entre desde hasta vuelvo
    ao aos na nas no nos meu minha meus posso pode fazer tenho tem estou onde qual
    quais muito obrigado obrigada já
    gli della delle dei come può fare ho ha sono perché dove grazie
    het een van voor met niet ik mijn kan hoe wat waarom
    """.split()  # noqa: SIM905
)
_TOKEN = re.compile(r"[^\W\d_][\w'-]{1,}", re.UNICODE)
# Japanese and Chinese write no spaces: a run of these scripts is cut at kana particles and
# Chinese function characters, so that terms are words ("デプロイ", "环境变量"), not sentences.
_CJK_RUN = re.compile(r"^[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]+$")
_CJK_BREAK = re.compile(r"[\u3040-\u309f的了是在我吗和但么什怎把有要能不没到对也就都很还]+")


@dataclasses.dataclass
class Subject:
    id: int
    name: str
    category: str
    centroid: Vectors  # unit vector, in the embedding space
    size: int


class SubjectIndex:
    """A project's subjects, for assigning new threads."""

    def __init__(self, subjects: Sequence[Subject]) -> None:
        self.subjects = list(subjects)
        self._matrix = (
            np.stack([s.centroid for s in self.subjects]) if self.subjects else np.zeros((0, 1))
        )

    def nearest(self, vector: Vectors) -> Subject | None:
        # Centroids of another space (384-dimension MiniLM ones from before migration 0014)
        # match nothing: the thread waits for the next clustering.
        if not self.subjects or self._matrix.shape[1] != vector.shape[0]:
            return None
        scores = self._matrix @ vector
        best = int(np.argmax(scores))
        return self.subjects[best] if scores[best] >= ASSIGN_MIN else None


def tokens(text: str) -> list[str]:
    out = []
    for word in _TOKEN.findall(text[:1000].lower()):
        if _CJK_RUN.match(word):
            # A long unbroken run keeps its start ("容器部署健康检查失败" -> "容器部署").
            pieces = [p if len(p) <= 6 else p[:4] for p in _CJK_BREAK.split(word)]
        else:
            pieces = [word]
        out += [p for p in pieces if len(p) >= 2 and p not in STOP_WORDS]
    return out


def _terms(text: str) -> list[str]:
    words = tokens(text)
    return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]


def name_clusters(questions: Sequence[str], labels: Sequence[int]) -> dict[int, str]:
    """c-TF-IDF: a term's frequency in a cluster, weighted by how rare it is across clusters.
    Terms in most of the project's questions (shared boilerplate) are dropped first."""
    per_question = [set(_terms(q)) for q in questions]
    document_frequency = Counter(t for terms in per_question for t in terms)
    boilerplate = {t for t, n in document_frequency.items() if n > 0.5 * len(questions) > 4}
    # A cluster asked in several languages is named from its English questions, if it has
    # any: one language for the names of a project, the one its docs team most likely reads.
    english = [message_language(q) == "en" for q in questions]
    has_english = {label for label, en in zip(labels, english, strict=True) if en}
    by_cluster: dict[int, Counter[str]] = {}
    for terms, label, en in zip(per_question, labels, english, strict=True):
        counts = by_cluster.setdefault(label, Counter())
        if en or label not in has_english:
            counts.update(terms - boilerplate)
    # A term found in most clusters (a product name every question carries) names none.
    spread = Counter(t for counts in by_cluster.values() for t in counts)
    if len(by_cluster) >= 3:
        shared = {t for t, n in spread.items() if n >= 0.5 * len(by_cluster)}
        for counts in by_cluster.values():
            for term in shared:
                counts.pop(term, None)
    total = Counter[str]()
    for counts in by_cluster.values():
        total.update(counts)
    average = sum(total.values()) / max(len(by_cluster), 1)
    names = {}
    for label, counts in by_cluster.items():
        size = max(sum(counts.values()), 1)
        scored = sorted(
            (
                (n / size) * np.log(1 + average / total[t]) * (1.2 if " " in t else 1.0)
                + (1.0 if n >= 2 else 0.0),  # a term several questions share comes first
                t,
            )
            for t, n in counts.items()
        )
        names[label] = _readable(scored[::-1])
    return names


def _readable(scored: list[tuple[float, str]]) -> str:
    """The best term, with a second unigram when the best is one word (1-3 words)."""
    if not scored:
        return UNSORTED
    best = scored[0][1]
    if " " not in best:
        for _, term in scored[1:4]:
            if " " not in term and term != best:
                return f"{best} {term}"
    return best


def _centred(vectors: Vectors) -> Vectors:
    # The project's mean direction is what all its questions share (product name, phrasing,
    # a stock answer): removing it lets what differs drive the clustering.
    centred = vectors - vectors.mean(axis=0, keepdims=True)
    # A question that *is* the mean (every question the same, say) would become a zero vector,
    # which cosine cannot compare: such rows keep their own direction instead.
    flat = np.linalg.norm(centred, axis=-1) < 1e-6
    centred[flat] = vectors[flat]
    return normalise(centred)


def _agglomerate(vectors: Vectors) -> np.ndarray:
    from sklearn.cluster import AgglomerativeClustering

    if len(vectors) < 2:
        return np.zeros(len(vectors), dtype=int)
    # Average linkage on cosine: on the dev split it beat Ward (0.79 against 0.70), and Ward's
    # fixed threshold split the whole set (251 threads) into twice the clusters of one half.
    model = AgglomerativeClustering(
        n_clusters=None, distance_threshold=MERGE_DISTANCE, linkage="average", metric="cosine"
    )
    return np.asarray(model.fit_predict(_centred(vectors)))


def cluster(vectors: Vectors, seed: int = 0) -> np.ndarray:
    """A cluster number per vector."""
    if len(vectors) <= MAX_CLUSTERED:
        return _agglomerate(vectors)
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(len(vectors), MAX_CLUSTERED, replace=False))
    sampled = _agglomerate(vectors[sample])
    centroids = normalise(
        np.stack([vectors[sample][sampled == k].mean(0) for k in range(sampled.max() + 1)])
    )
    return np.asarray(np.argmax(vectors @ centroids.T, axis=1))


def recluster(
    vectors: Vectors,
    questions: Sequence[str],
    previous_ids: Sequence[int | None],
    previous: Sequence[Subject],
) -> tuple[list[Subject], list[int]]:
    """New subjects for all of a project's threads, and each thread's subject id. A new
    cluster whose members mostly had one old subject keeps that subject's id, name and
    category."""
    labels = cluster(vectors)
    old = {s.id: s for s in previous}
    next_id = max(old, default=0) + 1
    members: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        members.setdefault(int(label), []).append(i)
    names = name_clusters(questions, [int(x) for x in labels])
    claims = []
    for label, rows in members.items():
        votes = Counter(previous_ids[i] for i in rows if previous_ids[i] in old)
        if votes:
            subject_id, n = votes.most_common(1)[0]
            claims.append((n / len(rows), n, label, subject_id))
    kept: dict[int, int] = {}  # cluster -> old subject id
    taken: set[int] = set()
    for share, _, label, subject_id in sorted(claims, reverse=True):
        if share >= 0.5 and subject_id not in taken and subject_id is not None:
            kept[label] = subject_id
            taken.add(subject_id)
    subjects: list[Subject] = []
    id_of: dict[int, int] = {}
    for label, rows in sorted(members.items()):
        centroid = normalise(vectors[rows].mean(axis=0, keepdims=True))[0]
        if label in kept:
            before = old[kept[label]]
            subject = Subject(before.id, before.name, before.category, centroid, len(rows))
        else:
            subject = Subject(next_id, names[label], "", centroid, len(rows))
            next_id += 1
        id_of[label] = subject.id
        subjects.append(subject)
    _unique_names(subjects)
    _categorise(subjects, questions, [id_of[int(x)] for x in labels])
    return subjects, [id_of[int(x)] for x in labels]


def _unique_names(subjects: list[Subject]) -> None:
    seen: Counter[str] = Counter()
    for subject in sorted(subjects, key=lambda s: (-s.size, s.id)):
        seen[subject.name] += 1
        if seen[subject.name] > 1:
            subject.name = f"{subject.name} ({seen[subject.name]})"


def _categorise(subjects: list[Subject], questions: Sequence[str], ids: Sequence[int]) -> None:
    """Categories for subjects that have none: subjects grouped by centroid (average linkage,
    cosine), each named after its largest subject. Kept subjects keep their category."""
    fresh = [s for s in subjects if not s.category]
    if not fresh:
        return
    if len(subjects) < 4:
        for s in fresh:
            s.category = s.name.split(" (")[0].split()[0]
        return
    from sklearn.cluster import AgglomerativeClustering

    # Centred like the threads: otherwise what every subject shares puts most in one group.
    matrix = _centred(np.stack([s.centroid for s in subjects]))
    groups = AgglomerativeClustering(
        n_clusters=max(2, round(len(subjects) ** 0.5)), metric="cosine", linkage="average"
    ).fit_predict(matrix)
    group_of = {s.id: int(g) for s, g in zip(subjects, groups, strict=True)}
    # A category is named after its largest subject: naming it from its questions' words put
    # the product's own name on most categories of the evaluation set.
    largest: dict[int, Subject] = {}
    for s in sorted(subjects, key=lambda s: (-s.size, s.id)):
        largest.setdefault(group_of[s.id], s)
    existing: dict[int, Counter[str]] = {}
    for s in subjects:
        if s.category:
            existing.setdefault(group_of[s.id], Counter())[s.category] += 1
    for s in fresh:
        group = group_of[s.id]
        inherited = existing.get(group)
        s.category = (
            inherited.most_common(1)[0][0] if inherited else largest[group].name.split(" (")[0]
        )
