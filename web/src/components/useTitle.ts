import { useEffect } from "react";

/** The tab's title names the screen (and tells screen-reader users where a navigation went). */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · Dropline` : "Dropline";
  }, [title]);
}
