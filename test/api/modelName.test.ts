import { describe, expect, it } from 'vitest';
import { checkModel, namesModel } from '../../src/api/modelName.ts';
import { InvalidParamsError } from '../../src/errors.ts';

describe('model: checked against the loaded model (issue 13)', () => {
  const url = 'http://127.0.0.1:5173/models/stories260K';
  it.each([
    [url, 'stories260K'], [url, 'models/stories260K'], [url, '/models/stories260K'], [url, `${url}/`], [url, url],
    ['folder /work/main/models/stories260K', 'stories260K'],
    ['https://huggingface.co/HuggingFaceTB/SmolLM2-135M (revision main)', 'HuggingFaceTB/SmolLM2-135M'],
    ['https://huggingface.co/HuggingFaceTB/SmolLM2-135M/resolve/main', 'HuggingFaceTB/SmolLM2-135M'],
    ['https://huggingface.co/HuggingFaceTB/SmolLM2-135M/resolve/main', 'SmolLM2-135M'],
    ['https://huggingface.co/Qwen/Qwen2-0.5B-GGUF (revision main), file qwen2-q4_0.gguf', 'qwen2-q4_0.gguf'],
    ['https://huggingface.co/Qwen/Qwen2-0.5B-GGUF (revision main), file qwen2-q4_0.gguf', 'Qwen/Qwen2-0.5B-GGUF'],
    ['folder /m/tiny, file tiny.gguf', 'tiny/tiny.gguf'],
  ])('%s is named by %s', (loaded, requested) => {
    expect(namesModel(requested, loaded)).toBe(true);
  });

  it.each([
    [url, 'gpt-4o'], [url, 'stories'], [url, 'K'], [url, 'other/stories260K'], [url, 'http://elsewhere.example/models/stories260K'],
    ['https://huggingface.co/HuggingFaceTB/SmolLM2-135M (revision main)', 'HuggingFaceTB/SmolLM2-360M'],
    ['https://huggingface.co/Qwen/Qwen2-0.5B-GGUF (revision main), file qwen2-q4_0.gguf', 'qwen2-q8_0.gguf'],
  ])('%s is not named by %s', (loaded, requested) => {
    expect(namesModel(requested, loaded)).toBe(false);
  });

  it('another model is an InvalidParamsError naming model; absent or null is the loaded one', () => {
    expect(() => checkModel('gpt-4o', url)).toThrow(InvalidParamsError);
    expect(() => checkModel('gpt-4o', url)).toThrow(/model: "gpt-4o" is not the loaded model .*"stories260K"/);
    expect(() => checkModel(42, url)).toThrow(/model: must be a string/);
    expect(() => checkModel('x', 'folder /m/tiny, file tiny.gguf')).toThrow(/e\.g\. "tiny\.gguf"/);
    expect(() => checkModel(undefined, url)).not.toThrow();
    expect(() => checkModel(null, url)).not.toThrow();
  });
});
