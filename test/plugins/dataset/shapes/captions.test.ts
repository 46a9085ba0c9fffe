import { strict as assert } from 'node:assert';
import { CAPTION_TEMPLATES, RELATION_PHRASES } from '../../../../plugins/dataset/shapes/captions';
import { SplitGenerator } from '../../../../plugins/dataset/shapes/generator';
import { resolveShapesOptions } from '../../../../plugins/dataset/shapes/options';
import { parseCaption, resolveMention, statementHolds } from './grammar';

describe('shapes captions', () => {
  const options = resolveShapesOptions({ seed: 3, trainSize: 300 });
  const generator = new SplitGenerator(options, 'train');
  const images = Array.from({ length: generator.numImages }, (_, i) => ({
    scene: generator.scene(i),
    captions: generator.captions(i),
  }));

  it('gives five captions per image, distinct within an image', () => {
    for (const { captions } of images) {
      assert.equal(captions.length, 5);
      assert.equal(new Set(captions).size, 5, captions.join(' | '));
    }
  });

  it('states only relations that are true in the image (parsed back with the template grammar)', () => {
    let statements = 0;
    for (const { scene, captions } of images) {
      for (const caption of captions) {
        for (const statement of parseCaption(caption).statements) {
          const holds = statementHolds(statement, scene.objects, options.imageSize);
          assert.ok(holds, `false in image ${scene.index}: ${caption}`);
          statements++;
        }
      }
    }
    assert.ok(statements > 5 * images.length);
  });

  it('names each object with a size word that fits, when it gives one', () => {
    let sized = 0;
    for (const { scene, captions } of images) {
      for (const caption of captions) {
        for (const { subject, object } of parseCaption(caption).statements) {
          resolveMention(subject, scene.objects);
          resolveMention(object, scene.objects);
          if (subject.sizeWord) sized++;
        }
      }
    }
    assert.ok(sized > 0);
  });

  it('uses every template and every relation phrase', () => {
    const templates = new Set<string>();
    const text = images.flatMap((i) => i.captions).join('\n');
    for (const caption of images.flatMap((i) => i.captions)) templates.add(parseCaption(caption).template);
    assert.deepEqual([...templates].sort(), [...CAPTION_TEMPLATES].sort());
    for (const phrase of Object.values(RELATION_PHRASES).flat()) assert.ok(text.includes(` ${phrase} `), phrase);
  });

  it('rejects a caption whose relation is reversed (the check can fail)', () => {
    const { scene, captions } = images[0];
    const statement = parseCaption(captions[0]).statements[0];
    const opposite: Record<string, string> = { left: 'right', right: 'left', above: 'below', below: 'above' };
    const reversed = { ...statement, relation: opposite[statement.relation] };
    assert.equal(statementHolds(reversed, scene.objects, options.imageSize), false);
  });
});
