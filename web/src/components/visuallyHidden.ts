// Text for screen readers only. sx treats numbers up to 1 as fractions (width: 1 is 100%),
// hence the "1px" strings.
export const visuallyHidden = {
  position: "absolute", width: "1px", height: "1px", overflow: "hidden", clip: "rect(0 0 0 0)", whiteSpace: "nowrap",
} as const;
