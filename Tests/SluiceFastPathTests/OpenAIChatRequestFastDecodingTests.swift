import Foundation
import SluiceTesting
import Testing

@testable import SluiceEdge
@testable import SluiceFastPath

@Suite("OpenAIChatRequest fast decoding")
struct OpenAIChatRequestFastDecodingTests {
    /// A request body and whether the fast path must take it.
    struct Body: Sendable, CustomTestStringConvertible {
        var label: String
        var bytes: [UInt8]
        var mustBeFast: Bool
        var testDescription: String { label }

        init(_ label: String, fast mustBeFast: Bool = false, _ json: String) {
            self.label = label
            bytes = Array(json.utf8)
            self.mustBeFast = mustBeFast
        }

        init(_ label: String, bytes: [UInt8]) {
            self.label = label
            self.bytes = bytes
            mustBeFast = false
        }
    }

    /// A full, byte-exact rendering of a decoded request: every field, strings and doubles included.
    static func canonical(_ request: OpenAIChatRequest) -> [UInt8] {
        var text = ""
        dump(request, to: &text)
        return Array(String(reflecting: request).utf8) + Array(text.utf8)
    }

    /// What the reference decoder makes of `bytes`.
    static func reference(_ bytes: [UInt8]) -> Result<OpenAIChatRequest, any Error> {
        Result { try JSONDecoder().decode(OpenAIChatRequest.self, from: Data(bytes)) }
    }

    /// Checks that the fast path either declines `bytes` or decodes them exactly as JSONDecoder does.
    ///
    /// - Returns: Whether the fast path took the body.
    @discardableResult
    static func expectAgreement(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        guard let fast = OpenAIChatRequest.fastDecode(bytes) else { return false }
        switch reference(bytes) {
        case .success(let slow):
            #expect(
                canonical(fast) == canonical(slow),
                "fast path decoded differently:\n\(String(reflecting: fast))\nJSONDecoder:\n\(String(reflecting: slow))",
                sourceLocation: sourceLocation
            )
        case .failure(let error):
            Issue.record(
                "fast path accepted what JSONDecoder refuses (\(error)): \(String(decoding: bytes, as: UTF8.self))",
                sourceLocation: sourceLocation
            )
        }
        return true
    }

    static let user = #"{"role":"user","content":"hi"}"#

    static let corpus: [Body] = [
        // Common shapes, which must take the fast path
        Body("plain chat", fast: true, #"{"model":"gpt-4o","messages":[{"role":"user","content":"Hello!"}]}"#),
        Body(
            "system, user and assistant turns with whitespace",
            fast: true,
            """
            {
              "model": "gpt-4o-mini",
              "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "2+2?", "name": "alice"},
                {"role": "assistant", "content": "4"}
              ],
              "temperature": 0.2,
              "max_tokens": 16
            }
            """
        ),
        Body(
            "stream with stream_options",
            fast: true,
            #"{"model":"m","messages":[\#(user)],"stream":true,"stream_options":{"include_usage":true}}"#
        ),
        Body(
            "stream_options with unknown and null members",
            fast: true,
            #"{"model":"m","messages":[\#(user)],"stream":false,"stream_options":{"x":[1,{}],"include_usage":null}}"#
        ),
        Body(
            "parts with text and image_url",
            fast: true,
            #"""
            {"model":"gpt-4o","messages":[{"role":"user","content":[
              {"type":"text","text":"What is in this image?"},
              {"type":"image_url","image_url":{"url":"https://example.com/a.png","detail":"high"}},
              {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}
            ]}]}
            """#
        ),
        Body(
            "tool_calls history with tool results",
            fast: true,
            #"""
            {"model":"gpt-4o","messages":[
              {"role":"user","content":"Weather in Paris?"},
              {"role":"assistant","content":null,"tool_calls":[
                {"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
                {"id":"call_2","function":{"name":"get_time","arguments":"{}"}}
              ]},
              {"role":"tool","tool_call_id":"call_1","content":"{\"temp\":21}"},
              {"role":"tool","tool_call_id":"call_2","content":"12:00"}
            ],"tool_choice":"auto","parallel_tool_calls":true}
            """#
        ),
        Body("stop as a string", fast: true, #"{"model":"m","messages":[\#(user)],"stop":"END"}"#),
        Body("stop as an array", fast: true, #"{"model":"m","messages":[\#(user)],"stop":["END","\n\n"]}"#),
        Body(
            "every scalar parameter",
            fast: true,
            #"""
            {"model":"m","messages":[\#(user)],"stream":false,"temperature":1,"top_p":0.5,"n":2,"max_tokens":100,
             "max_completion_tokens":200,"stop":[],"seed":-9223372036854775808,"presence_penalty":-2,
             "frequency_penalty":2.0,"user":"u-1","response_format":{"type":"json_object"},"tool_choice":"none"}
            """#
        ),
        Body(
            "nulls for every optional field",
            fast: true,
            #"""
            {"model":"m","messages":[{"role":"user","content":null,"name":null,"tool_calls":null,"tool_call_id":null}],
             "stream":null,"stream_options":null,"tool_choice":null,"parallel_tool_calls":null,
             "temperature":null,"top_p":null,"n":null,"max_tokens":null,"max_completion_tokens":null,"stop":null,
             "seed":null,"presence_penalty":null,"frequency_penalty":null,"response_format":null,"user":null}
            """#
        ),
        Body(
            "unknown extra fields",
            fast: true,
            #"""
            {"metadata":{"a":"b"},"model":"m","logprobs":true,"top_logprobs":3,"messages":[
              {"role":"user","content":[{"type":"text","text":"x","cache_control":{"type":"ephemeral"}}],"extra":[]}],
             "store":false,"logit_bias":{"50256":-100},"service_tier":"auto"}
            """#
        ),
        Body(
            "escapes and non-ASCII text",
            fast: true,
            #"""
            {"model":"m\u00e9","messages":[{"role":"user","content":"tab\tquote\"slash\/\\ \ud83d\ude00 😀 日本 \u0000"}]}
            """#
        ),
        Body("member names written with escapes", #"{"mod\u0065l":"m","messages":[\#(user)],"\u0073tream":true}"#),
        Body("empty messages", #"{"model":"m","messages":[]}"#),
        Body("empty content parts", #"{"model":"m","messages":[{"role":"user","content":[]}]}"#),
        Body("message without content", #"{"model":"m","messages":[{"role":"assistant"}]}"#),

        // Numbers in every form
        Body("n as 1.0", #"{"model":"m","messages":[\#(user)],"n":1.0}"#),
        Body("max_tokens as 1e2", #"{"model":"m","messages":[\#(user)],"max_tokens":1e2}"#),
        Body("max_tokens as -0", #"{"model":"m","messages":[\#(user)],"max_tokens":-0}"#),
        Body("temperature as -0", #"{"model":"m","messages":[\#(user)],"temperature":-0}"#),
        Body(
            "temperature as 1e2 and top_p as 5E-1",
            #"{"model":"m","messages":[\#(user)],"temperature":1e2,"top_p":5E-1}"#
        ),
        Body("n as 1.5", #"{"model":"m","messages":[\#(user)],"n":1.5}"#),
        Body("n beyond Int", #"{"model":"m","messages":[\#(user)],"n":9223372036854775808}"#),
        Body("temperature beyond Double", #"{"model":"m","messages":[\#(user)],"temperature":1e400}"#),
        Body("temperature with a leading zero", #"{"model":"m","messages":[\#(user)],"temperature":01}"#),

        // Duplicate members
        Body("duplicate model", #"{"model":"a","model":"b","messages":[\#(user)]}"#),
        Body("duplicate stream", #"{"model":"m","messages":[\#(user)],"stream":true,"stream":false}"#),
        Body("duplicate role", #"{"model":"m","messages":[{"role":"user","role":"system","content":"x"}]}"#),
        Body(
            "duplicate include_usage",
            #"{"model":"m","messages":[],"stream_options":{"include_usage":true,"include_usage":false}}"#
        ),
        Body("duplicate unknown member", #"{"model":"m","messages":[\#(user)],"x":1,"x":2}"#),

        // Wrong types and missing members
        Body("missing model", #"{"messages":[\#(user)]}"#),
        Body("missing messages", #"{"model":"m"}"#),
        Body("null model", #"{"model":null,"messages":[\#(user)]}"#),
        Body("missing role", #"{"model":"m","messages":[{"content":"hi"}]}"#),
        Body("model as a number", #"{"model":4,"messages":[\#(user)]}"#),
        Body("stream as a string", #"{"model":"m","messages":[\#(user)],"stream":"true"}"#),
        Body("stream as 1", #"{"model":"m","messages":[\#(user)],"stream":1}"#),
        Body("temperature as a string", #"{"model":"m","messages":[\#(user)],"temperature":"0.5"}"#),
        Body("content as a number", #"{"model":"m","messages":[{"role":"user","content":5}]}"#),
        Body("content as an object", #"{"model":"m","messages":[{"role":"user","content":{"type":"text"}}]}"#),
        Body("part without type", #"{"model":"m","messages":[{"role":"user","content":[{"text":"x"}]}]}"#),
        Body(
            "image_url without url",
            #"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]}"#
        ),
        Body(
            "tool call without id",
            #"{"model":"m","messages":[{"role":"assistant","tool_calls":[{"function":{"name":"f","arguments":"{}"}}]}]}"#
        ),
        Body(
            "tool call arguments as an object",
            #"{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":{}}}]}]}"#
        ),
        Body("stop with a null element", #"{"model":"m","messages":[\#(user)],"stop":["a",null]}"#),
        Body("stop as a number", #"{"model":"m","messages":[\#(user)],"stop":5}"#),
        Body("messages as an object", #"{"model":"m","messages":{}}"#),
        Body("body as an array", #"[{"model":"m","messages":[]}]"#),

        // Shapes the fast path leaves to JSONDecoder
        Body(
            "tools present",
            #"""
            {"model":"m","messages":[\#(user)],"tools":[{"type":"function","function":{"name":"get_weather",
             "description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}},"strict":true}}]}
            """#
        ),
        Body(
            "tool_choice object",
            #"{"model":"m","messages":[\#(user)],"tool_choice":{"type":"function","function":{"name":"get_weather"}}}"#
        ),
        Body(
            "response_format json_schema",
            #"""
            {"model":"m","messages":[\#(user)],"response_format":{"type":"json_schema","json_schema":{"name":"x",
             "schema":{"type":"object","properties":{"a":{"type":"number"}}},"strict":true}}}
            """#
        ),
        Body("tools as null", #"{"model":"m","messages":[\#(user)],"tools":null}"#),
        Body("legacy functions", #"{"model":"m","messages":[\#(user)],"functions":[],"function_call":"auto"}"#),

        // Malformed JSON
        Body("trailing comma", #"{"model":"m","messages":[\#(user)],}"#),
        Body("trailing comma in an unknown member", #"{"model":"m","messages":[\#(user)],"x":[1,]}"#),
        Body("leading zero in an unknown member", #"{"model":"m","messages":[\#(user)],"x":01}"#),
        Body("text after the body", #"{"model":"m","messages":[\#(user)]} x"#),
        Body("truncated body", #"{"model":"m","messages":[\#(user)"#),
        Body("lone surrogate in an unknown member", #"{"model":"m","messages":[\#(user)],"x":"\ud800"}"#),
        Body("empty body", ""),
        Body(
            "invalid UTF-8 in content",
            bytes: Array(#"{"model":"m","messages":[{"role":"user","content":""#.utf8) + [0xFF] + Array(#""}]}"#.utf8)
        ),
        Body("byte order mark", bytes: [0xEF, 0xBB, 0xBF] + Array(#"{"model":"m","messages":[]}"#.utf8)),

        // Deep nesting in an unknown member, at and past the limit
        Body("deeply nested unknown field", fast: true, #"{"model":"m","messages":[],"x":\#(nested(500))}"#),
        Body("unknown field nested to the limit", fast: true, #"{"model":"m","messages":[],"x":\#(nested(511))}"#),
        Body("unknown field nested past the limit", #"{"model":"m","messages":[],"x":\#(nested(512))}"#),
    ]

    /// Arrays and objects nested `depth` deep around a `0`.
    static func nested(_ depth: Int) -> String {
        (0..<depth).map { $0.isMultiple(of: 2) ? "[" : #"{"k":"# }.joined() + "0"
            + (0..<depth).reversed().map { $0.isMultiple(of: 2) ? "]" : "}" }.joined()
    }

    @Test("decodes exactly as JSONDecoder does, or declines", arguments: corpus)
    func agreesWithJSONDecoder(body: Body) {
        // Given a request body
        // When the fast path and JSONDecoder read it
        // Then the fast path declines, or both succeed with the same request
        Self.expectAgreement(body.bytes)
    }

    @Test("takes the fast path for the common request shapes", arguments: corpus.filter(\.mustBeFast))
    func takesFastPath(body: Body) throws {
        // Given a common request body
        // When the fast path reads it
        let fast = OpenAIChatRequest.fastDecode(body.bytes)

        // Then it does not decline, and JSONDecoder gives the same request
        let request = try #require(fast)
        let slow = try Self.reference(body.bytes).get()
        #expect(Self.canonical(request) == Self.canonical(slow))
    }

    @Test("the fast codec goes through the fast path and gives what JSONDecoder gives")
    func decodeUsesFastPath() throws {
        // Given a plain chat body
        let bytes = Array(#"{"model":"m","messages":[{"role":"user","content":"hi"}],"n":1,"temperature":0.7}"#.utf8)

        // When it is decoded through the entry point
        let request = try FastOpenAIChatCodec().decodeRequest(bytes)

        // Then the result matches JSONDecoder's
        #expect(Self.canonical(request) == Self.canonical(try Self.reference(bytes).get()))
        #expect(request.n == 1)
        #expect(request.temperature == 0.7)
    }

    // MARK: - Numbers

    static let numberLiterals = [
        "0", "1", "-1", "-0", "1.0", "-0.0", "0.5", "0.7", "1e2", "1E2", "1e+2", "1.5e1", "100e-2", "1e-7",
        "9007199254740993", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
        "0.1000000000000000055511151231257827", "2.2250738585072011e-308", "4.9e-324", "2.4703282292062328e-324",
        "0e-400", "-0e5", "1e308", "1.8e308", "1e400", "01", "1.", ".5", "+1", "true", #""1""#, "null", "[]",
    ]

    /// Numbers whose nonzero digits round to zero: JSONDecoder refuses them, `Double(_:)` reads 0.
    static let underflowingLiterals = ["1e-400", "-1e-400", "2e-324", "2.4703282292062327e-324"]

    static let numberFields = [
        "temperature", "top_p", "presence_penalty", "frequency_penalty", "n", "max_tokens",
        "max_completion_tokens", "seed",
    ]

    @Test("reads numeric parameters exactly as JSONDecoder does, or declines", arguments: numberFields)
    func numbers(field: String) {
        for literal in Self.numberLiterals {
            // Given a body with the parameter spelled this way
            let bytes = Array(#"{"model":"m","messages":[\#(Self.user)],"\#(field)":\#(literal)}"#.utf8)

            // When the fast path and JSONDecoder read it
            // Then they agree
            Self.expectAgreement(bytes)
        }
    }

    @Test(
        "declines numbers that underflow to zero, which JSONDecoder refuses",
        arguments: ["temperature", "top_p", "presence_penalty", "frequency_penalty"]
    )
    func underflow(field: String) {
        for literal in Self.underflowingLiterals {
            // Given a body whose parameter underflows a double
            let bytes = Array(#"{"model":"m","messages":[\#(Self.user)],"\#(field)":\#(literal)}"#.utf8)

            // When the fast path and JSONDecoder read it
            // Then they agree (JSONDecoder answers 400 invalid_parameter)
            Self.expectAgreement(bytes)
        }
    }

    // MARK: - Mutations

    @Test("declines or agrees for corpus bodies with one byte deleted or inserted")
    func mutations() {
        // Given the corpus and a seeded generator
        var random = SplitMix64(seed: 0xFA57_0001)
        let inserts = Array(#"{}[],:"\ -0123456789.eEnul"#.utf8) + [0x00, 0x0A, 0x7F, 0x80, 0xFF]
        var fastCount = 0

        for body in Self.corpus where body.bytes.count < 2_000 {
            for _ in 0..<60 {
                // When one byte is deleted or inserted
                var bytes = body.bytes
                if !bytes.isEmpty, Bool.random(using: &random) {
                    bytes.remove(at: Int.random(in: 0..<bytes.count, using: &random))
                } else {
                    let byte = inserts[Int.random(in: 0..<inserts.count, using: &random)]
                    bytes.insert(byte, at: Int.random(in: 0...bytes.count, using: &random))
                }

                // Then the fast path declines or agrees with JSONDecoder
                if Self.expectAgreement(bytes) { fastCount += 1 }
            }
        }
        #expect(fastCount > 100, "too few mutated bodies took the fast path to compare anything")
    }
}
