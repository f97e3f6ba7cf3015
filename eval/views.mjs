// The derived views the evaluation hashes for every image (the cached features): a rule under
// evaluation may query these and no others, or its recall would be measured without views a
// scanner running it would compute.

/** Crop compensation computed for every image; the decision uses the shares its rule names. */
export const UNCROP_KEPT = [0.95, 0.9, 0.8];
/** Downscale compensation computed for every small enough image; likewise. */
export const UPSCALE_FACTORS = [2, 3, 4];
/** The scales the crop-compensated and text-free views are also hashed at. */
export const VIEW_UPSCALE = [2, 4];

/** Why the cached views cannot evaluate `rule`, or null when they can. */
export function unevaluable(rule) {
  const shares = rule.uncrop.filter((kept) => !UNCROP_KEPT.includes(kept));
  if (shares.length > 0) return `crop compensation for kept shares ${JSON.stringify(shares)}: the evaluation hashes ${JSON.stringify(UNCROP_KEPT)}`;
  // A factor in the rule also scales the crop-compensated and text-free views, hashed at VIEW_UPSCALE only.
  const factors = rule.upscale.filter((factor) => !VIEW_UPSCALE.includes(factor));
  if (factors.length > 0) return `downscale factors ${JSON.stringify(factors)}: the evaluation hashes every view at ${JSON.stringify(VIEW_UPSCALE)}`;
  return null;
}
