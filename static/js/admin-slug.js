// The admin's slug prefill spells a name as the catalogue's own slugs do (cooperations/text.py,
// `slug`): Django's URLify drops « œ » (« Cœur » → « cur ») and joins the words on either side
// of a dash written without spaces. Loaded after Django's urlify.js, it wraps the function that
// prepopulate.js calls on each keystroke.
'use strict';
{
    const djangoURLify = window.URLify;
    const SPELLED = {'œ': 'oe', 'Œ': 'OE', 'æ': 'ae', 'Æ': 'AE'};
    window.URLify = function(text, maxLength, allowUnicode) {
        let spelled = text
            .replace(/[œŒæÆ]/g, (letter) => SPELLED[letter])
            .replace(/[\u2010-\u2015\u2212]/g, '-');
        if (!allowUnicode) {
            // Accents dropped as the server drops them, whatever Django's tables hold.
            spelled = spelled.normalize('NFKD').replace(/\p{M}/gu, '');
        }
        return djangoURLify(spelled, maxLength, allowUnicode);
    };
}
