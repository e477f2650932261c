"""The stop words, in one place (French and English).

``FUNCTION_WORDS``: articles, pronouns, prepositions, auxiliaries, English question words: never an
explanation on their own (the model's "words that decided it"). ``STOP_WORDS``: those plus more
pronouns, French question words ("comment", "combien", "pourquoi" may explain a stage but name no
topic), chat words and fillers: left out of the gap report's topic labels.
"""
from __future__ import annotations

FUNCTION_WORDS = frozenset("""
a an the of to in on at by for with from and or is are be it this that my our your their i we you me do does
can how what why which who le la les l un une des du de d au aux et ou est sont a pour par sur dans avec ce
cette ces mon ma mes notre nos votre vos je j il elle on nous vous qui que qu en y ne pas se s c
""".split())

STOP_WORDS = FUNCTION_WORDS | frozenset("""
been its these those he she they us them did could should would will when where there here any some more most
than vs not no yes please thanks hi hello get got has have had if so just also very about into over as cet ton
ta tes son sa ses leur leurs tu ils elles quoi quel quelle quels quelles comment pourquoi combien quand plus
moins tres faut faire peut peux veux est-ce n sans chez entre vers apres avant bonjour merci svp stp oui non
alors donc mais car si tout tous toutes toute aussi bien deja encore ca cela ça
""".split())
