import SluiceInference
import SluiceTesting
import SluiceTokenizer
import Testing

@Suite("Prompt token counter")
struct PromptTokenCounterTests {
    @Test(
        "knows which models use cl100k_base",
        arguments: [
            ("echo", true), ("ECHO", true), ("gpt-4", true), ("gpt-4-turbo", true), ("GPT-4-0613", true),
            ("gpt-3.5-turbo", true), ("gpt-4o", false), ("gpt-4o-mini", false), ("gpt-4.1", false),
            ("claude-3-5-sonnet", false), ("llama3", false), ("", false),
        ]
    )
    func cl100kModels(model: String, expected: Bool) {
        // When a model name is classified
        let uses = PromptTokenCounter.usesCL100K(model)

        // Then GPT-4 (not 4o or 4.1), GPT-3.5 and echo use cl100k_base, whatever the case
        #expect(uses == expected)
    }

    @Test(
        "picks the exact counter only for cl100k_base models it has ranks for",
        arguments: [
            (true, "gpt-4", "cl100k_base"), (true, "gpt-4o", "estimate"), (false, "gpt-4", "estimate"),
            (false, "echo", "estimate"),
        ]
    )
    func picksCounter(hasRanks: Bool, model: String, encoding: String) {
        // Given a counter with or without the cl100k_base ranks
        let tokens = PromptTokenCounter(cl100k: hasRanks ? WordTokenCounter() : nil)

        // When it picks a counter for a model
        let picked = tokens.counter(forUpstreamModel: model)

        // Then the encoding tells which one
        #expect(picked.encoding == encoding)
    }

    @Test(
        "adds the chat format's per-message, name and priming overhead",
        arguments: [
            // 3 priming + 3 per message + "userhello world" (2)
            ([ChatMessage(role: .user, text: "hello world")], 8),
            // + "systembe brief" (2) + 3
            ([ChatMessage(role: .system, text: "be brief"), ChatMessage(role: .user, text: "hello world")], 13),
            // + name "bob" (1) + 1
            ([ChatMessage(role: .user, content: [.text("hello world")], name: "bob")], 10),
            // "assistant" (1) + tool call text `get_weather{"city":` `"Paris"}` (2)
            (
                [
                    ChatMessage(
                        role: .assistant,
                        content: [],
                        toolCalls: [ToolCall(id: "c1", name: "get_weather", arguments: #"{"city": "Paris"}"#)]
                    )
                ],
                9
            ),
        ]
    )
    func countsPrompt(messages: [ChatMessage], expected: Int) {
        // Given the word-counting stand-in for cl100k_base
        let tokens = PromptTokenCounter.words

        // When a prompt is counted for a cl100k_base model
        let count = tokens.countPrompt(messages, upstreamModel: "gpt-4")

        // Then the chat format's overhead is included and the count is exact
        #expect(count == TokenCountResult(tokens: expected, isEstimated: false, encoding: "cl100k_base"))
    }

    @Test(
        "flags counts made with the estimator as estimated",
        arguments: [[ChatMessage(role: .user, text: "bonjour tout le monde")], []]
    )
    func estimatorCountsAreEstimated(messages: [ChatMessage]) {
        // Given a model without an exact tokenizer
        let tokens = PromptTokenCounter.words

        // When a prompt is counted
        let count = tokens.countPrompt(messages, upstreamModel: "claude-3-haiku")

        // Then the result says it is an estimate, consistently with its encoding
        #expect(count.encoding == "estimate")
        #expect(count.isEstimated)
    }

    @Test("counts completion text with the model's counter")
    func countsCompletion() {
        // Given the word-counting stand-in for cl100k_base
        let tokens = PromptTokenCounter.words

        // When completions are counted
        let exact = tokens.countCompletion("one two three", upstreamModel: "gpt-4")
        let estimated = tokens.countCompletion("one two three", upstreamModel: "mistral")

        // Then the exact counter counts words and the estimator its own rule
        #expect(exact == 3)
        #expect(estimated == EstimatingTokenCounter().count("one two three").tokens)
    }
}
