import SluiceTesting

/// A varied corpus for comparing the Swift encoder with Python tiktoken.
///
/// Hand-written cases cover code, prose, CJK, emoji (ZWJ sequences, flags, skin tones, keycaps), combining marks,
/// whitespace runs, CRLF, numbers in several scripts, contractions in any case and special-token text. Two
/// seeded generators add strings that stress the split pattern: short mixes of the characters it branches on,
/// and random scalars from long-assigned Unicode blocks.
enum ReferenceCorpus {
    static func make() -> [String] {
        var rng = SplitMix64(seed: 0x5EED_70C1)
        return handWritten + longRuns + patternFuzz(count: 200, using: &rng) + randomUnicode(count: 150, using: &rng)
    }

    // MARK: - Hand-written

    static let handWritten: [String] = [
        "", " ", "a", "hello world", "Hello, World!", "  leading", "trailing  ", "trailing\n", "trailing \n ",
        "I'm here; you're there. We'll see, they've gone, he'd know, it's fine, don't.",
        "I'M HERE; YOU'RE THERE. WE'LL SEE, THEY'VE GONE, HE'D KNOW, IT'S FINE, DON'T.",
        "MiXeD 'Ll 'Ve 'Re 'S 'T 'M 'D 'x 'lL ' s '", "'s'S'ſ'ſt'll'LL'lL'vE're'RE",
        "rock'n'roll o'clock 'quoted' ’curly’s’",
        "func greet(_ name: String) -> String {\n    return \"Hello, \\(name)!\"\n}\n",
        "def fib(n):\n\tif n < 2:\n\t\treturn n\n\treturn fib(n - 1) + fib(n - 2)\n\n\nprint(fib(30))\n",
        "const xs = [1, 2, 3].map((x) => x ** 2); // squares\nconsole.log(`${xs.join(\", \")}`);\r\n",
        "fn main() {\n    let v: Vec<u64> = (0..1_000_000).filter(|n| n % 7 == 0).collect();\n}\n",
        "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"héllo, 世界\")\n}\n",
        "#include <stdio.h>\nint main(void){printf(\"%d\\n\",0x7FFFFFFF);return 0;}",
        "SELECT id, name FROM users WHERE created_at >= '2024-01-01' AND email LIKE '%@example.com';",
        "<!DOCTYPE html>\n<html lang=\"en\"><body><p class=\"x\">Hi &amp; bye</p></body></html>",
        "{\"key\": [1, 2.5, -3e10, true, null], \"nested\": {\"a\": \"b\"}}",
        "#!/usr/bin/env bash\nset -euo pipefail\nfor f in *.txt; do echo \"$f\"; done 2>/dev/null || true",
        "    indented with four\n        and eight\n\t\ttabs\n \t mixed \t\n",
        "line one\r\nline two\r\n\r\nline four\r\n", "\r\n\r\n\r\n", "\n\n\nhello\n\n\n", "\r\r\n\n\r",
        "a \n b", "a  \n  b", "a\t\n\tb", "x   \n", "x   \ny", "   \n   \n   ", "end with spaces   ",
        "12345678901234567890", "3.14159 2,718 1_000_000 0xDEADBEEF 1e-9 -42 +7", "v1.2.3-rc.4+build.567",
        "١٢٣٤٥٦٧ ۱۲۳ १२३४५ １２３４５ ²³¹ ½¾ Ⅻ ⅷ 𝟙𝟚𝟛 ①②③", "Phone: +1 (555) 123-4567, ZIP 94103-1234",
        "中文测试：今天天气很好，我们去公园散步吧。", "日本語のテキスト、カタカナとひらがな。ｶﾀｶﾅ", "한국어 텍스트입니다. 안녕하세요!",
        "混合 mixed 文本 text 123 テスト", "Ελληνικά κείμενα και Кириллица текст", "עברית שָׁלוֹם עֲלֵיכֶם",
        "العربية: مرحبا بالعالم", "नमस्ते दुनिया, क्षत्रिय", "ภาษาไทยไม่มีช่องว่าง", "Tiếng Việt có dấu: Điều này",
        "e\u{301} vs é, n\u{303}, a\u{308}\u{304}", "Z̸̧̛̗͔͓̭̟̲̹̫̈́̑̆̅̊͑̈͝a̵̙̺̯͐̽͛͗l̷̛͈̙̙̇̄g̶̣̯̓ő̶̝",
        "👍 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 🇯🇵🇺🇸🇩🇪 1️⃣ #️⃣ ❤️ ☺︎ 🧑🏿‍🚀", "emoji🎉inside🚀words", "😀😃😄😁😆😅🤣😂",
        "\u{200B}zero\u{200B}width\u{FEFF}bom\u{200D}joiner", "nbsp\u{A0}here\u{A0}\u{A0}and\u{3000}ideographic",
        "em\u{2003}space\u{2028}line\u{2029}para\u{85}nel", "ctrl\u{1C}\u{1D}\u{1E}\u{1F}seps\u{0B}\u{0C}",
        "\u{0}\u{1}\u{7F} controls", "tab\tseparated\tvalues\t1\t2\n",
        "<|endoftext|>", "a<|endoftext|>b", "<|endoftext|><|endoftext|>", "  <|endoftext|>\n\n",
        "<|fim_prefix|>def add(a, b):<|fim_suffix|>\n    return c<|fim_middle|>", "<|endofprompt|>",
        "<|endoftext", "endoftext|>", "<|fim_|>", "<|im_start|>user\nhi<|im_end|>", "<<|endoftext|>>",
        "Hello<|endoftext|>World<|fim_prefix|>x", "x  <|endoftext|>", "a \n\n <|endoftext|> b  \n <|fim_suffix|>",
        "<|endoftext|>\n\n\n", "'<|endoftext|>s", "12<|endoftext|>345", "!!!???...,,,;;;:::", "!!!\n\n\n", " !!!\n",
        "--- *** ___ ~~~",
        "https://example.com/path?query=1&b=two#frag", "user@example.com", "C:\\Users\\name\\file.txt",
        "ſtraße Straße STRASSE ǅungla ﬁnance ﬀ", "İstanbul ıi Iİ", "K Å Ω", "αβγ ΑΒΓ", "ｆｕｌｌｗｉｄｔｈ",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙 𝒶𝒷𝒸", "𐍈𐌰𐌿 Gothic", "ꙮ multiocular", "\u{10FFFD}\u{E000} private use",
    ]

    /// Long pieces: whitespace runs (before words, at the end, with line breaks) and unbroken letter runs, which
    /// exercise the heap merge.
    static let longRuns: [String] = {
        var strings: [String] = []
        for length in [2, 3, 7, 16, 31, 64, 100, 257, 300, 1_000] {
            let spaces = String(repeating: " ", count: length)
            strings.append(spaces + "word")
            strings.append("word" + spaces)
            strings.append("a" + spaces + "\n" + spaces + "b")
            strings.append(String(repeating: "\t", count: length) + "x")
        }
        strings.append(String(repeating: "\n", count: 500) + "x" + String(repeating: "\r\n", count: 300))
        strings.append(String(repeating: "a", count: 2_000))
        strings.append(String(repeating: "ab", count: 700) + " " + String(repeating: "xyz", count: 400))
        strings.append(String(repeating: "中文字符很长没有空格", count: 60))
        strings.append(String(repeating: "ありがとうございます", count: 40))
        strings.append(String(repeating: "😀", count: 200))
        strings.append(String(repeating: "=", count: 1_000) + String(repeating: "-", count: 99))
        strings.append(String(repeating: "9", count: 1_000))
        strings.append(String(repeating: "Supercalifragilisticexpialidocious", count: 30))
        return strings
    }()

    // MARK: - Generated

    /// Short strings over the characters the split pattern branches on.
    static func patternFuzz(count: Int, using rng: inout SplitMix64) -> [String] {
        let alphabet: [String] = [
            " ", " ", " ", "\t", "\n", "\r", "\r\n", "\u{A0}", "\u{3000}", "'", "'", "s", "S", "t", "l", "L", "v", "e",
            "E", "r", "R", "d", "m", "M", "x", "é", "ſ", "中", "1", "2", "3", "٣", "½", ".", ",", "!", "?", "<", "|",
            ">", "-", "_", "\u{301}", "😀", "\u{200D}", "<|endoftext|>",
        ]
        return (0..<count).map { _ in
            let length = Int.random(in: 1...24, using: &rng)
            return (0..<length).map { _ in alphabet.randomElement(using: &rng)! }.joined()
        }
    }

    /// Random scalars from blocks assigned since Unicode 7 or earlier, so both Unicode tables agree on them.
    static func randomUnicode(count: Int, using rng: inout SplitMix64) -> [String] {
        let ranges: [ClosedRange<UInt32>] = [
            0x20...0x7E, 0x20...0x7E, 0x09...0x0D, 0xA0...0x24F, 0x300...0x36F, 0x370...0x3FF, 0x400...0x4FF,
            0x590...0x5FF, 0x600...0x6FF, 0x900...0x97F, 0xE00...0xE7F, 0x1E00...0x1EFF, 0x2000...0x206F,
            0x2070...0x209F, 0x20A0...0x20BF, 0x2100...0x218F, 0x2190...0x23FF, 0x2460...0x24FF, 0x2500...0x27BF,
            0x3000...0x303F, 0x3040...0x30FF, 0x4E00...0x9FCC, 0xAC00...0xD7A3, 0xFE00...0xFE0F, 0xFF00...0xFFEF,
            0x1D400...0x1D7FF, 0x1F300...0x1F64F, 0x1F680...0x1F6C5,
        ]
        return (0..<count).map { _ in
            let length = Int.random(in: 1...40, using: &rng)
            var scalars = String.UnicodeScalarView()
            while scalars.count < length {
                let range = ranges.randomElement(using: &rng)!
                if let scalar = Unicode.Scalar(UInt32.random(in: range, using: &rng)) {
                    scalars.append(scalar)
                }
            }
            return String(scalars)
        }
    }
}
