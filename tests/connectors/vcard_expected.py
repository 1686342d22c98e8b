"""Expected contacts for every vCard file of the shared real-world corpus.

This is hand-written ground truth for the vCard importer tests: for each ``.vcf`` file under
``shared/corpus/vcard/`` (key = path relative to that folder) it lists, in file order, the cards
that are people, as a person reading the raw bytes would see them.

Rules used (the importer must follow the same ones):

- ``name`` is FN (whole value, unescaped, outer whitespace stripped); else N as
  "prefix given middle family suffix" (empty parts skipped); else the first ORG component; else
  the first e-mail; else the first phone. Quoted-printable and charsets are decoded first
  (UTF-8, else the declared CHARSET such as SHIFT_JIS, else cp1252 / cp932), and only then are
  backslash escapes and ``;`` separators interpreted (Shift_JIS trail bytes can be 0x5C).
- ``emails`` are all EMAIL properties, trimmed and lowercased, ``mailto:`` stripped, in order.
- ``phones`` counts the distinct numbers of the TEL properties that phonenumbers reads as a
  possible number (X-MS-TEL, X-SIP, IMPP, ... are not TEL). A TEL holding no possible number
  (``BusinessPhone``, ``1``, ``123456``, ``sip:…``: most of the test files' placeholders) is a
  note of the card, not a phone.
- ``organization`` is the first component of the first ORG property.
- Group cards (KIND:group, X-ADDRESSBOOKSERVER-KIND:group) and cards with no FN, N, ORG, e-mail
  or phone are left out; a file with no people maps to an empty list.
- A vCard nested inside another one (2.1 ``AGENT:`` + embedded BEGIN:VCARD) belongs to the
  outer card and is never a contact of its own. A bare BEGIN:VCARD inside a card (as in
  ``v21_nest.vcf``) is read as the card before it lacking its END:VCARD, which is what a cut or
  mistyped line looks like: the cut card is quarantined and every card after it is read.
- A broken PHOTO (bad base64, truncated image, missing blank line) costs only the photo.

The corpus has no group card, no ``mailto:`` e-mail and no AGENT with an embedded vCard; those
rules are listed for completeness.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Card:
    name: str  # display name, see the module docstring
    emails: tuple[str, ...]  # every e-mail address, trimmed and lowercased, in file order
    phones: int  # how many TEL properties the card has
    organization: str = ""  # first component of ORG, unescaped, "" if none


_AOSP = "aosp-vcard/tests/res/raw/"
_EZ = "ez-vcard/src/test/resources/ezvcard/io/text/"

EXPECTED: dict[str, list[Card]] = {
    # ----------------------------------------------------------------- aosp-vcard (Android)
    # Name from N ("bogus" is the family name); ADR continues over 3 lines with a trailing "\".
    _AOSP + "v21_adr_multiple_line.vcf": [Card("bogus", (), 0)],
    # Only X-ANDROID-CUSTOM lines, no VERSION: no FN, N, ORG, e-mail or phone -> not a contact.
    _AOSP + "v21_android_custom_prop.vcf": [],
    # why: the brief's escape rule is applied to FN `A;B\C\;D:E\\`: `\;` -> `;`, `\\` -> `\`, the
    # unknown escape `\C` is kept as is. (AOSP itself keeps the raw 2.1 value `A;B\C\;D:E\\`.)
    _AOSP + "v21_backslash.vcf": [Card("A;B\\C;D:E\\", (), 0)],
    # 2.1 base64 PHOTO not followed by the blank line 2.1 requires; END:VCARD comes right after.
    _AOSP + "v21_base64_no_2_crlf.vcf": [Card("fullname", (), 0)],
    # Folded 2.1 base64 PNG PHOTO with no blank line after it; TEL and EMAIL follow the photo.
    _AOSP + "v21_blackberry_photo.vcf": [Card("boogie", ("forrestgump@walladalla.com",), 0)],
    # QP NOTE whose soft-break continuation starts with a space, blank line, base64 PHOTO, no
    # newline at end of file. ORG is "Gump Shrimp Co.;Sales Dept.\;Manager;Fish keeper".
    _AOSP + "v21_complicated.vcf": [
        Card(
            "Joe Due",
            ("forrestgump@walladalla.com", "cell@example.com"),
            5,
            organization="Gump Shrimp Co.",
        ),
    ],
    # Nickname inside X-ANDROID-CUSTOM and an X-GOOGLE-TALK IM handle only: not a contact.
    _AOSP + "v21_im.vcf": [],
    # "BEGIN:vCard" in mixed case, "#" comment lines, and a QP soft break whose continuation line
    # starts with "#" (part of the NOTE, not a comment).
    _AOSP + "v21_invalid_comment_line.vcf": [Card("Conference Call", (), 0)],
    # why: the EMAIL value is `"Omega"` folded onto `  <omega@example.com>`; a person reads the
    # address omega@example.com, not the whole `"Omega" <omega@example.com>` string.
    _AOSP + "v21_invalid_multiple_line.vcf": [Card("Omega", ("omega@example.com",), 0)],
    # N;CHARSET=SHIFT_JIS only (no FN): family name 安藤ロイド.
    _AOSP + "v21_japanese_1.vcf": [Card("安藤ロイド", (), 1)],
    # FN;CHARSET=SHIFT_JIS plus a Shift_JIS quoted-printable ADR with soft breaks.
    _AOSP + "v21_japanese_2.vcf": [Card("安藤 ロイド 1", (), 0)],
    # Shift_JIS with 0x5C trail bytes (能 = 94 5C, 圭 = 8C 5C, 予 = 97 5C): FN ends in byte 0x5C and
    # N holds "94 5C 3B" which looks like `\;` if unescaped before decoding.
    _AOSP + "v21_japanese_3.vcf": [Card("伊能 圭一 伊予", (), 0)],
    # PHOTO base64 contains ":" (`...AAAAG:ASDF==`): the photo is lost, the card is not.
    _AOSP + "v21_malformed_photo.vcf": [Card("fullname", (), 0)],
    # Three Shift_JIS N-only cards separated by blank lines; every TEL (X-NEC-*, MODEM...) counts.
    _AOSP + "v21_multiple_entry.vcf": [
        Card("安藤ロイド3", (), 0),
        Card("安藤ロイド4", (), 0),
        Card("安藤ロイド5", (), 0),
    ],
    # why: two vCards (N:nest1, N:nest2) are nested inside the outer card without an AGENT
    # property; like AGENT cards they belong to the outer card, which keeps its TEL:1 written
    # after them. They are not separate contacts.
    # A BEGIN:VCARD that no AGENT opens starts a card of its own: "parent" lacks its END:VCARD
    # there (quarantined, cut short), and its last lines are outside any card (quarantined).
    _AOSP + "v21_nest.vcf": [Card("nest1", (), 0), Card("nest2", (), 0)],
    _AOSP + "v21_org_before_title.vcf": [Card("Normal Guy", (), 0, organization="Company")],
    # Three ORG properties: the first one ("Company") is the organization.
    _AOSP + "v21_pref_handling.vcf": [
        Card("Smith", ("test@example.com", "test2@examination.com"), 0, organization="Company"),
    ],
    # No VERSION line; N:Ando;Roid; -> given "Roid", family "Ando".
    _AOSP + "v21_simple_1.vcf": [Card("Roid Ando", (), 0)],
    _AOSP + "v21_simple_2.vcf": [Card("Ando Roid", (), 0)],
    _AOSP + "v21_simple_3.vcf": [Card("Ando Roid", (), 0)],
    # X-SIP values are not TEL properties.
    _AOSP + "v21_sip.vcf": [Card("Android", (), 0)],
    _AOSP + "v21_title_before_org.vcf": [Card("Nice Guy", (), 0, organization="Marverous")],
    # Windows Mobile 6.5: AGENT holds plain text (no embedded vCard); empty X-REDUCTION/X-NO.
    _AOSP + "v21_winmo_65.vcf": [Card("Example", (), 0)],
    # Folded base64 PHOTO followed directly by X-ANDROID-CUSTOM; no newline at end of file.
    _AOSP + "v21_x_android_custom_after_photo.vcf": [Card("Roid Ando", (), 0)],
    _AOSP + "v21_x_param.vcf": [
        Card("Roid Ando", ("email@example.com", "email2@example.com"), 0),
    ],
    # TEL;TYPE="COMMA,SEPARATED:INSIDE.DQUOTE",PREF:1 -- a ":" inside a quoted parameter.
    _AOSP + "v30_comma_separated.vcf": [Card("G M F", (), 0)],
    # iOS 6.1.3: every line ends CR CR LF; base64 PHOTO folded over ~90 lines.
    _AOSP + "v30_ios_613_multiline.vcf": [
        Card("Bob Smith", ("bob@smithauto.com",), 1, organization="Smith Auto Repair"),
    ],
    # Same Shift_JIS bytes as v21_japanese_3.vcf, under VERSION:3.0 (where "\" is an escape).
    _AOSP + "v30_japanese.vcf": [Card("伊能 圭一 伊予", (), 0)],
    # TEL;TYPE="费" -- UTF-8 bytes E8 B4 B9 inside a parameter value.
    _AOSP + "v30_multibyte_param.vcf": [Card("G M F", (), 0)],
    # The TEL value is an e-mail-like pager address; it is still a TEL, not an e-mail.
    _AOSP + "v30_pager.vcf": [Card("G M F", (), 0)],
    _AOSP + "v30_pause_wait.vcf": [Card("Pause Wait", (), 0)],
    # ORG:Open;Handset; Alliance
    _AOSP + "v30_simple.vcf": [Card("And Roid", (), 1, organization="Open")],
    # IMPP sip: URI is not a TEL nor an e-mail.
    _AOSP + "v30_sip.vcf": [Card("Android", (), 0)],
    # Both TEL properties count, although one holds a sip: URI.
    _AOSP + "v40_sip.vcf": [Card("安藤 ロイド", (), 0)],
    # SORT-AS="あんどう;ろいど" -- a ";" inside a quoted parameter of N and of ORG.
    _AOSP + "v40_sort_as.vcf": [Card("安藤 ロイド", (), 0, organization="グーグル")],
    # ------------------------------------------------------------------------------ ez-vcard
    # Android 2.1 export, six cards, CHARSET=UTF-8 quoted-printable with soft breaks.
    _EZ + "John_Doe_ANDROID.vcf": [
        # Cards 1-2 have only an EMAIL (and CATEGORIES): the e-mail is the name.
        Card("john.doe@company.com", ("john.doe@company.com",), 0),
        Card("jane.doe@company.com", ("jane.doe@company.com",), 0),
        # why: FN is QP "Ñ Ñ Ñ Ñ Ñ " with a trailing =20; the trailing space is not kept.
        # (N differs: it has only four Ñ.)
        Card("Ñ Ñ Ñ Ñ Ñ", (), 0),
        # FN continues after a soft line break in the middle of "=C3=91=" / "=20".
        Card("Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ", (), 1),
        # why: the second EMAIL is QP "Ñ" x14, not an address: it cannot reach anyone and would
        # never match an exchange, so it is not an e-mail handle. This card's PHOTO (lines
        # 52-68, 1169 base64 characters, not a multiple of 4) is broken: only the photo is
        # lost, and the next card must still be read.
        Card(
            "Ñ Ñ Ñ Ñ",
            ("bob@company.com",),
            # why: its three TEL properties (cell, work, fax) all hold 123456: no possible
            # number in the US, so a note.
            0,
            organization="ÑÑÑÑÑÑÑÑÑÑÑÑ",
        ),
        # First ORG is 44 Ñ whose last soft break is followed by an empty line; the second ORG
        # ends with "=80" (line 86), a byte that is not valid UTF-8 despite CHARSET=UTF-8.
        Card(
            "ÑÑÑÑ",
            ("henry@company.com",),
            0,  # its TEL is 55556666: no possible number in the US
            organization="ÑÑÑÑÑÑÑÑÑÑÑÑÑÑÑÑÑÑÑÑÑÑÑÑÑÑÑÑÑÑÑÑÑÑÑÑÑÑÑÑÑÑÑÑ",
        ),
    ],
    # PHOTO is one 2 233-character base64 line (a JPEG cut short, no FFD9 end marker).
    _EZ + "John_Doe_BLACK_BERRY.vcf": [Card("John Doe", (), 1, organization="Acme Solutions")],
    # Evolution: EMAIL folded inside the address ("john." / " doe@ibm.com"); FN has "\,";
    # no newline at end of file.
    _EZ + "John_Doe_EVOLUTION.vcf": [
        Card("Mr. John Richter, James Doe Sr.", ("john.doe@ibm.com",), 2, organization="IBM"),
    ],
    # Gmail writes the comma in FN unescaped; the name must be kept whole.
    _EZ + "John_Doe_GMAIL.vcf": [
        Card("Mr. John Richter, James Doe Sr.", ("john.doe@ibm.com",), 2, organization="IBM"),
    ],
    # iOS 5: every line ends CR CR LF; item1./item2. group prefixes on EMAIL and TEL.
    _EZ + "John_Doe_IPHONE.vcf": [
        Card("Mr. John Richter James Doe Sr.", ("john.doe@ibm.com",), 7, organization="IBM"),
    ],
    _EZ + "John_Doe_LOTUS_NOTES.vcf": [
        Card(
            "Mr. Doe John I Johny",
            ("john.doe@ibm.com", "billy_bob@gmail.com"),
            # "+1 (212) 204-34456" has a digit too many: a note. "00-1-212-555-7777" is dialled
            # from abroad: +12125557777.
            1,
            organization="IBM",
        ),
    ],
    # "PHOTO;BASE64:" then 320 lines indented by two spaces that end in bare LF, inside a CRLF
    # file; FN has "\," with no space after it.
    _EZ + "John_Doe_MAC_ADDRESS_BOOK.vcf": [
        Card("Mr. John Richter,James Doe Sr.", ("john.doe@ibm.com",), 7, organization="IBM"),
    ],
    # Outlook 2.1: QP LABELs with soft breaks, base64 PHOTO ended by a blank line.
    _EZ + "John_Doe_MS_OUTLOOK.vcf": [
        Card("Mr. John Richter James Doe Sr.", ("john.doe@ibm.cm",), 2, organization="IBM"),
    ],
    # vCard 4.0, three PHOTO URLs, two ORG properties (first wins), blank line after END:VCARD.
    _EZ + "fullcontact.vcf": [
        Card(
            "Prefix FirstName MiddleName LastName Suffix",
            (
                "home@example.com",
                "work@example.com",
                "school@example.com",
                "other@example.com",
                "custom@example.com",
            ),
            9,
            organization="Organization1",
        ),
    ],
    # Three cards; no newline after the last END:VCARD.
    _EZ + "gmail-list.vcf": [
        Card("Arnold Smith", ("asmithk@gmail.com",), 0),
        Card("Chris Beatle", ("chrisy55d@yahoo.com",), 0),
        Card("Doug White", ("dwhite@gmail.com",), 0),
    ],
    _EZ + "gmail-single.vcf": [
        Card("Greg Dartmouth", ("gdartmouth@hotmail.com",), 2, organization="TheCompany"),
    ],
    _EZ + "gmail-single2.vcf": [
        Card(
            "VCard Test",
            (
                "email@example.com",
                "homeemail@example.com",
                "workemail@example.com",
                "otheremail@example.com",
                "customcategory@example.com",
            ),
            11,
            organization="TheCompany",
        ),
    ],
    # Outlook 2003 (2.1): ORG "Company, The;TheDepartment" with an unescaped comma; KEY base64
    # indented by four spaces and followed by two blank lines; FBURL QP of "?" bytes.
    _EZ + "outlook-2003.vcf": [
        Card("John Doe III", ("jdoe@hotmail.com",), 0, organization="Company, The"),
    ],
    # QP NOTE with a raw TAB; X-MS-TEL is not a TEL property (4 TEL, not 5).
    _EZ + "outlook-2007.vcf": [
        Card(
            "Mr. Michael Angstadt Jr.",
            ("mike.angstadt@gmail.com",),
            4,
            organization="TheCompany",
        ),
    ],
    # RFC 2426 examples: LF line endings, "BEGIN:vCard", no N; e-mail lowercased.
    _EZ + "rfc2426-example.vcf": [
        Card(
            "Frank Dawson",
            ("frank_dawson@lotus.com", "fdawson@earthlink.net"),
            2,
            organization="Lotus Development Corporation",
        ),
        Card(
            "Tim Howes",
            ("howes@netscape.com",),
            2,
            organization="Netscape Communications Corp.",
        ),
    ],
    # RFC 6350 example: TEL as tel: URIs with quoted TYPE lists; LF line endings.
    _EZ + "rfc6350-example.vcf": [
        Card("Simon Perreault", ("simon.perreault@viagenie.ca",), 2, organization="Viagenie"),
    ],
    # Base64 PHOTO lines 27-201 end in bare LF inside a CRLF file.
    _EZ + "thunderbird-MoreFunctionsForAddressBook-extension.vcf": [
        Card(
            "John Doe",
            (
                "doe.john@hotmail.com",
                "additional-email@company.com",
                "additional-email1@company.com",
                "additional-email2@company.com",
                "additional-email3@company.com",
            ),
            5,
            organization="TheOrganization",
        ),
    ],
    # FN "Dummy\, Dummy"; ADR has an unquoted LABEL parameter full of ":" and ^' / ^n escapes.
    "ez-vcard/src/test/resources/ezvcard/issue/issue114.vcf": [
        Card("Dummy, Dummy", ("dummy.dummy@dummy.com",), 2, organization="Dummy GmbH"),
    ],
    # ----------------------------------------------------------------------------- py-vobject
    "py-vobject/test_files/radicale-1587.vcf": [Card("Given Family", (), 0)],
}

#: Records of a file that are quarantined (line numbers), where a file has any.
QUARANTINED: dict[str, list[int]] = {
    # "parent" (line 1) never reaches its END:VCARD before nest1 begins; "TEL:1" and the last
    # END:VCARD (lines 12-13) are outside any card.
    _AOSP + "v21_nest.vcf": [1, 12],
}
