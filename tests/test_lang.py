"""Language detection on short queries and long text."""
import pytest

from contentplan.model.lang import detect_lang


@pytest.mark.parametrize("text,lang", [
    ("combien coûte votre CRM ?", "fr"), ("what is lead nurturing", "en"), ("devis toiture", "fr"),
    ("prix pompe a chaleur", "fr"), ("crm pricing per user", "en"), ("mutuelle entreprise obligatoire", "fr"),
    ("how do I cancel", "en"), ("résilier abonnement", "fr"), ("42", "other"), ("", "other"),
    ("скільки коштує", "other"), ("東京の天気", "other"),
])
def test_detect_lang(text, lang):
    assert detect_lang(text) == lang
