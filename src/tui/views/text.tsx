/**
 * The review UI's one `Text`: ink's, with every string child escaped and clipped (safeText),
 * including strings inside fragments. Rule comments, chain and container names come from the
 * snapshot and may carry terminal escape sequences; views import `Text` from here, never from
 * ink (ESLint enforces it). Nested `Text` elements escape their own children.
 */
import { Text as InkText } from 'ink';
import type { ComponentProps, ReactElement, ReactNode } from 'react';
import { Children, cloneElement, Fragment, isValidElement } from 'react';
import { safeText } from '../../model/safe-text.ts';

function safeChildren(children: ReactNode): ReactNode {
  return Children.map(children, (child): ReactNode => {
    if (typeof child === 'string') return safeText(child);
    if (isValidElement(child) && child.type === Fragment) {
      const fragment = child as ReactElement<{ children?: ReactNode }>;
      return cloneElement(fragment, {}, safeChildren(fragment.props.children));
    }
    return child;
  });
}

export function Text(props: ComponentProps<typeof InkText>): ReactNode {
  const { children, ...rest } = props;
  return <InkText {...rest}>{safeChildren(children)}</InkText>;
}
