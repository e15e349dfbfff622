"""Word lists the spam signals use: shorteners, throw-away TLDs, free-mail, greetings, sales.

Kept apart from the logic so they can grow without touching it; all lower-case.
"""

from __future__ import annotations

import re


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


SHORTENERS = _words(
    """
    bit.ly tinyurl.com goo.gl t.co ow.ly is.gd buff.ly rebrand.ly cutt.ly shorturl.at
    tiny.cc bit.do rb.gy t.ly s.id v.gd adf.ly shorte.st bc.vc lnkd.in db.tt qr.ae po.st
    x.co tr.im cli.gs u.to soo.gd clck.ru linktr.ee tiny.one shrtco.de urlz.fr
    """
)
SUSPICIOUS_TLDS = _words(
    """
    xyz top click link win loan icu buzz cam tk ml ga cf gq pw su bid vip work
    """
)
# Second-level suffixes under which the registrable domain has three labels.
TWO_LEVEL = _words(
    """
    co.uk org.uk ac.uk com.au net.au co.nz co.in com.br co.jp com.cn
    """
)
FREEMAIL = _words(
    """
    gmail.com googlemail.com yahoo.com hotmail.com outlook.com live.com msn.com aol.com
    icloud.com me.com mail.com gmx.de gmx.net web.de proton.me protonmail.com yandex.ru
    mail.ru qq.com 163.com
    """
)
GREETING_WORDS = _words(
    """
    hi hello hey hiya greetings dear admin nice great good awesome cool wow amazing
    excellent fantastic wonderful superb brilliant lovely useful helpful informative
    interesting post posts article articles blog site website page content info
    information read reading writing write share sharing shared thanks thank thx you
    your for this the a an is it its it's what such very really so much keep up work job
    i i'm like love enjoyed found just and of to my on here there man buddy guys all
    everyone friend friends sir bro
    """
)
# Words of polite marketing: each is a cue, several together in an unrelated comment are spam.
COMMERCIAL_WORDS = _words(
    """
    buy cheap cheapest discount discounts price prices pricing offer offers deal deals
    sale sales order shop store service services company companies business businesses
    seo marketing loan loans credit casino bet betting crypto bitcoin forex invest
    investment investing trading trader income earn earning money profit profits visit
    click subscribe free quality affordable professional solution solutions customer
    customers product products brand agency ranking traffic backlink backlinks essay
    essays replica pills pharmacy supplement supplements hire contact whatsapp telegram
    promo coupon delivery shipping guarantee guaranteed expert experts clinic repair
    repairs cleaning plumbing lawyer lawyers insurance mortgage rent rental hosting
    download app apps provider providers install installation website websites online dm
    kindly viagra cialis weight diet dating escort escorts wholesale supplier suppliers
    manufacturer agent agents consultation bonus jackpot reviews review payday cash
    """
)
COMMERCIAL_PHRASES = (
    "check out",
    "visit our",
    "visit my",
    "our company",
    "our website",
    "our services",
    "we offer",
    "we provide",
    "contact us",
    "feel free to",
    "best quality",
    "click here",
    "for more info",
    "call now",
    "order now",
    "limited time",
    "per month",
    "work from home",
    "make money",
    "sign up",
)
# "Our fitters are certified", "we stock 100 oils": a business speaking about itself.
BUSINESS_VOICE = re.compile(
    r"\b(?:our|we)\s+(?:\w+\s+)?(?:team|clinic|studio|shop|store|showroom|workshop|company|"
    r"experts?|fitters|designers|tutors|services?|products?|tours|offer|provide|stock|sell|"
    r"build|make|teach|install|specialise|specialize)\b"
)
STOPWORDS = _words(
    """
    the a an and or but if then than that this these those is are was were be been being
    have has had do does did of to in on at by for with from as it its it's i you he she
    we they me him her us them my your his our their what which who whom whose when
    where why how all any both each few more most other some such no nor not only own
    same so too very can will just should now also into about over after before again
    there here out up down off would could may might must shall one get got like just
    really even much many well still dont don't im i'm its
    """
)
